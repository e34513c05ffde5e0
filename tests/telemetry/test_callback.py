"""EnergyCallback through a fake loop's hooks: phases, totals, state across a resume."""

import time

import pytest

from olmo_green import record as rr
from olmo_green.telemetry import EnergyCallback
from tests.telemetry.loop import run_hooks
from tests.telemetry.test_meter import record_total_j


def _callback(run_dir):
    return EnergyCallback(run_dir, "lumi", simulate=True, sampling_interval_s=0.01, sync_interval_steps=3)


def test_simulated_run_steps_plus_phases_equal_total(tmp_path):
    callback = _callback(tmp_path)
    run_hooks(callback, range(1, 16))
    steps = rr.read_steps(tmp_path)
    phases = steps.groupby("phase")["energy_j"].sum()
    assert set(phases.index) >= {"train", "eval", "checkpoint"}
    assert (steps["phase"] == "train").sum() == 15
    assert steps.loc[steps["phase"] == "train", "step"].tolist() == list(range(1, 16))
    assert phases.sum() == pytest.approx(record_total_j(tmp_path), rel=1e-3)
    status = callback.live_status()
    assert status["energy_kwh"] * 3.6e6 == pytest.approx(phases.sum(), rel=1e-3)
    assert status["power_w"] > 0


def test_resume_continues_totals_and_record(tmp_path):
    first = _callback(tmp_path)
    run_hooks(first, range(1, 6))
    state = first.state_dict()
    second = _callback(tmp_path)
    second.load_state_dict(state)
    run_hooks(second, range(6, 11), state={"step": 5, "run_dir": str(tmp_path)})
    assert second.meter.last_step == 10
    assert second.meter.totals.run_j > first.meter.totals.run_j
    steps = rr.read_steps(tmp_path)
    assert steps.loc[steps["phase"] == "train", "step"].tolist() == list(range(1, 11))
    assert sorted(set(steps["attempt"])) == [0, 1] and (steps.loc[steps["step"] > 5, "attempt"] == 1).all()
    assert not rr.superseded_steps(steps).any()  # resumed where the first stopped: nothing redone
    assert any(e["kind"] == rr.EVENT_RESUME_GAP for e in rr.read_events(tmp_path))


def test_close_without_pre_train_is_harmless():
    callback = EnergyCallback()
    callback.close()
    callback.close()
    assert callback.live_status()["method"] == "none"


def test_progress_text_shows_live_power_energy_and_emissions(tmp_path):
    callback = EnergyCallback(tmp_path, "mosaicml-a100", simulate=True, sampling_interval_s=0.01)
    assert callback.progress_text() == ""  # nothing measured before pre_train
    callback.pre_train({"step": 0})
    callback.pre_step(1)
    time.sleep(0.1)
    callback.post_step(1, {"tokens": 10, "loss": 1.0, "lr": 0.1})
    text = callback.progress_text()
    callback.close()
    watts = float(text.split(" W")[0].replace(",", ""))
    assert watts > 0  # 8 modelled A100s draw at least their idle power
    assert "kWh" in text and "kg CO2e (location, x PUE)" in text and "[modelled]" in text


def test_progress_text_has_no_emissions_without_a_known_intensity(tmp_path):
    callback = EnergyCallback(tmp_path, "h100", simulate=True, sampling_interval_s=0.01)
    callback.pre_train({"step": 0})
    text = callback.progress_text()
    callback.close()
    assert "kWh" in text and "CO2e" not in text
