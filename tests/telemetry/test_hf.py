"""The transformers TrainerCallback adapter, driven with the arguments Trainer passes."""

from types import SimpleNamespace

import pytest

from olmo_green import record as rr
from olmo_green.telemetry import hf_energy_callback
from tests.telemetry.test_meter import record_total_j


def test_trainer_hooks_write_steps_and_an_eval_phase(tmp_path):
    callback = hf_energy_callback(tmp_path, "h100", simulate=True, sampling_interval_s=0.01, merge_idle_s=0.0)
    state = SimpleNamespace(global_step=0, log_history=[])
    control = SimpleNamespace()
    callback.on_train_begin(None, state, control)
    for _ in range(4):
        callback.on_step_begin(None, state, control)
        state.global_step += 1
        state.log_history.append({"loss": 2.0, "learning_rate": 1e-4})
        callback.on_step_end(None, state, control)
    callback.on_evaluate(None, state, control, metrics={})
    callback.on_train_end(None, state, control)
    steps = rr.read_steps(tmp_path)
    assert steps.loc[steps["phase"] == "train", "step"].tolist() == [1, 2, 3, 4]
    assert "eval" in set(steps["phase"])
    assert steps["energy_j"].sum() == pytest.approx(record_total_j(tmp_path), rel=1e-3)
