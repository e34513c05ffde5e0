"""Eval windows: held-out loss every eval_interval steps, without changing training."""

import math

import pytest

from olmo_green.errors import ConfigError
from olmo_green.model.callbacks import Callback
from olmo_green.record import read_steps
from tests.model.helpers import byte_data, make_trainer, small_config, train_losses

pytestmark = pytest.mark.usefixtures("one_thread")


class PhaseLog(Callback):
    def __init__(self):
        self.calls = []

    def pre_eval(self, step):
        self.calls.append(("pre_eval", step))

    def post_eval(self, step, metrics):
        self.calls.append(("post_eval", step, metrics["eval_loss"]))


def test_eval_windows_every_interval_leave_training_unchanged(tmp_path):
    data, held_out = byte_data(tmp_path / "data"), byte_data(tmp_path / "eval", n_tokens=4_000, seed=7)
    log = PhaseLog()
    with_eval = small_config(data, "eval_interval=2", "eval_batches=2", f"data.eval_paths=[{held_out}]")
    make_trainer(with_eval, tmp_path / "a", callbacks=[log]).fit()
    make_trainer(small_config(data, "eval_interval=0"), tmp_path / "b").fit()

    assert train_losses(tmp_path / "a") == train_losses(tmp_path / "b")  # eval draws no randomness
    steps = read_steps(tmp_path / "a")
    evals = steps[steps["phase"] == "eval"]
    assert evals["step"].tolist() == [2, 4, 6]
    assert all(math.isfinite(x) and x > 0 for x in evals["loss"])
    assert evals["loss"].iloc[-1] < evals["loss"].iloc[0]  # the model learns the held-out text too
    assert [c[:2] for c in log.calls] == [("pre_eval", 2), ("post_eval", 2), ("pre_eval", 4),
                                          ("post_eval", 4), ("pre_eval", 6), ("post_eval", 6)]


def test_no_eval_without_held_out_data(tmp_path):
    data = byte_data(tmp_path / "data")
    make_trainer(small_config(data, "eval_interval=2"), tmp_path / "run").fit()
    assert "eval" not in set(read_steps(tmp_path / "run")["phase"])


def test_too_little_held_out_data_is_a_config_error(tmp_path):
    data, held_out = byte_data(tmp_path / "data"), byte_data(tmp_path / "eval", n_tokens=300, seed=7)
    config = small_config(data, "eval_interval=2", "eval_batches=4", f"data.eval_paths=[{held_out}]")
    with pytest.raises(ConfigError, match="eval_batches"):
        make_trainer(config, tmp_path / "run")
