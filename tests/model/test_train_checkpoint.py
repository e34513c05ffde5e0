"""Checkpoint writes are atomic: a crash mid-save never damages the last good one."""

import pytest
import torch

from olmo_green.model import checkpoint as ckpt
from tests.model.helpers import (
    byte_data,
    make_trainer,
    small_config,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_a_crash_mid_save_leaves_the_last_good_checkpoint_and_is_cleaned_next_time(tmp_path, monkeypatch):
    data = byte_data(tmp_path / "data")
    trainer = make_trainer(small_config(data, "max_steps=2", "save_interval=100"), tmp_path / "run")
    trainer.fit()  # a good checkpoint at step 2
    folder = tmp_path / "run" / "checkpoints"
    good = (folder / "step000002" / "model_optim.pt").read_bytes()

    real_save = torch.save

    def crash_after_model(obj, path, *args, **kwargs):
        real_save(obj, path, *args, **kwargs)
        if str(path).endswith("model_optim.pt"):
            raise KeyboardInterrupt("killed mid-save")  # the model is written, the rest is not

    trainer.step = 3
    monkeypatch.setattr(ckpt.torch, "save", crash_after_model)
    with pytest.raises(KeyboardInterrupt):
        trainer.save()
    monkeypatch.setattr(ckpt.torch, "save", real_save)

    assert (folder / "step000003.partial").exists()
    assert ckpt.latest_checkpoint(folder).name == "step000002"
    assert (folder / "step000002" / "model_optim.pt").read_bytes() == good

    trainer.save()  # the next save clears the debris and completes
    assert not (folder / "step000003.partial").exists()
    assert ckpt.latest_checkpoint(folder).name == "step000003"


def test_checkpoints_load_with_weights_only(tmp_path):
    data = byte_data(tmp_path / "data")
    make_trainer(small_config(data, "max_steps=1"), tmp_path / "run").fit()
    path = ckpt.latest_checkpoint(tmp_path / "run" / "checkpoints")
    state = torch.load(path / "rank0.pt", weights_only=True)
    assert state["step"] == 1 and "rng" in state


def test_only_the_newest_checkpoints_are_kept_unless_told_to_keep_all(tmp_path):
    data = byte_data(tmp_path / "data")
    make_trainer(small_config(data, "max_steps=4", "save_interval=1"), tmp_path / "two").fit()
    assert sorted(p.name for p in (tmp_path / "two" / "checkpoints").glob("step*")) == \
        ["step000003", "step000004"]
    make_trainer(small_config(data, "max_steps=3", "save_interval=1", "keep_checkpoints=0"),
                 tmp_path / "all").fit()
    assert len(list((tmp_path / "all" / "checkpoints").glob("step*"))) == 3
