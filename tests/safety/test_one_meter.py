"""Finding 13: two EnergyMeters on one run directory in one process. The second is refused in
one line; the first one's telemetry and step rows are whole, each step written once."""

from __future__ import annotations

import pytest

from olmo_green import record as rr
from olmo_green import runlock
from olmo_green.errors import ConfigError
from olmo_green.telemetry.meter import EnergyMeter


def _meter(run_dir):
    return EnergyMeter(run_dir, "h100", simulate=True, sampling_interval_s=0.01)


def test_a_second_meter_on_the_same_run_in_one_process_is_refused(tmp_path):
    with _meter(tmp_path) as first:
        first.step(tokens=1)
        with pytest.raises(ConfigError, match="already written by another EnergyMeter") as refused:
            _meter(tmp_path).start()
        assert "\n" not in str(refused.value)
        first.step(tokens=1)
    steps = rr.read_steps(tmp_path)
    train = steps[steps["phase"] == "train"]["step"].tolist()
    assert train == [1, 2]  # each step once: the refused meter wrote none
    assert rr.read_events(tmp_path)  # the first meter's record is there


def test_a_second_meter_through_another_path_to_the_same_run_is_refused(tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "run", target_is_directory=True)
    (tmp_path / "run").mkdir()
    with _meter(tmp_path / "run"):
        with pytest.raises(ConfigError, match="another EnergyMeter"):
            _meter(tmp_path / "link").start()


def test_inside_train_one_meter_joins_its_lock_and_a_second_is_refused(tmp_path):
    with runlock.acquire(tmp_path):
        with _meter(tmp_path) as meter:
            meter.step(tokens=1)
            with pytest.raises(ConfigError, match="another EnergyMeter"):
                _meter(tmp_path).start()
        with _meter(tmp_path) as again:  # the first closed: its share is free again
            again.step(tokens=1)


def test_a_closed_meter_frees_the_run_for_the_next(tmp_path):
    with _meter(tmp_path) as meter:
        meter.step(tokens=1)
    assert runlock.hold_unless_held(tmp_path) is not None  # not held: acquired afresh
