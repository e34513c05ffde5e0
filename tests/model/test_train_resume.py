"""Resume: a run stopped by SIGTERM and resumed gives the same losses, bit for bit (CPU)."""

import os
import shutil
import signal

import pytest
import torch

from olmo_green.model import checkpoint as ckpt
from olmo_green.model.callbacks import Callback
from olmo_green.record import read_steps, superseded_steps
from tests.model.helpers import (
    byte_data,
    make_trainer,
    small_config,
    train_losses,
)

pytestmark = pytest.mark.usefixtures("one_thread")


class Recorder(Callback):
    """Counts steps in its state (which must survive a resume) and records hooks."""

    def __init__(self, sigterm_at: int | None = None):
        self.steps, self.hooks, self.sigterm_at = 0, [], sigterm_at

    def pre_train(self, state):
        self.hooks.append(("pre_train", state["step"]))

    def post_step(self, step, metrics):
        self.steps += 1
        self.hooks.append(("post_step", step))
        if step == self.sigterm_at:
            os.kill(os.getpid(), signal.SIGTERM)  # as a scheduler would, mid-run

    def post_checkpoint(self, step, path):
        self.hooks.append(("post_checkpoint", step))

    def close(self):
        self.hooks.append(("close", self.steps))

    def state_dict(self):
        return {"steps": self.steps}

    def load_state_dict(self, state):
        self.steps = state["steps"]


def test_sigterm_saves_closes_and_a_resume_matches_an_uninterrupted_run_bitwise(tmp_path):
    data = byte_data(tmp_path / "data")
    config = small_config(data, "save_interval=100")  # only the SIGTERM save and the final one

    make_trainer(config, tmp_path / "whole").fit()

    first = Recorder(sigterm_at=3)
    assert make_trainer(config, tmp_path / "cut", [first]).fit() == "preempted"
    assert first.hooks[-2:] == [("post_checkpoint", 3), ("close", 3)]
    latest = ckpt.latest_checkpoint(tmp_path / "cut" / "checkpoints")
    assert latest is not None and latest.name == "step000003"

    torch.manual_seed(12345)  # disturb the RNG: the checkpoint must restore it
    second = Recorder()
    trainer = make_trainer(config, tmp_path / "cut", [second])
    trainer.restore(latest)
    assert trainer.fit() == "completed"
    assert second.steps == 6 and second.hooks[0] == ("pre_train", 3)

    whole, cut = train_losses(tmp_path / "whole"), train_losses(tmp_path / "cut")
    assert len(whole) == len(cut) == 6
    assert cut == whole  # bitwise: same floats, not approximately
    assert whole[-1] < whole[0]


def test_resume_keeps_redone_rows_as_an_earlier_attempt_superseded(tmp_path):
    data = byte_data(tmp_path / "data")
    run = tmp_path / "run"
    make_trainer(small_config(data, "max_steps=4", "save_interval=2"), run).fit()
    step2 = run / "checkpoints" / "step000002"
    shutil.copytree(step2, tmp_path / "keep")
    trainer = make_trainer(small_config(data, "max_steps=4", "save_interval=2"), run)
    trainer.restore(tmp_path / "keep")
    trainer.fit()
    rows = read_steps(run)
    train = rows[rows["phase"] == "train"]
    assert train["step"].tolist() == [1, 2, 3, 4, 3, 4]  # the energy of the first 3 and 4 was spent
    assert train["attempt"].tolist() == [0, 0, 0, 0, 1, 1]
    assert superseded_steps(rows)[train.index].tolist() == [False, False, True, True, False, False]
    assert len(train_losses(run)) == 4  # each step once


class Failing(Callback):
    def __init__(self):
        self.events = []

    def post_step(self, step, metrics):
        raise RuntimeError(f"boom at step {step}")

    def on_error(self, error):
        self.events.append(("on_error", str(error)))

    def close(self):
        self.events.append(("close",))


class BadClose(Callback):
    def close(self):
        raise ValueError("close failed")


def test_an_error_calls_on_error_then_every_close_and_keeps_the_original_error(tmp_path):
    data = byte_data(tmp_path / "data")
    failing = Failing()
    trainer = make_trainer(small_config(data), tmp_path / "run", [BadClose(), failing])
    with pytest.raises(RuntimeError, match="boom at step 1"):
        trainer.fit()
    assert failing.events == [("on_error", "boom at step 1"), ("close",)]
