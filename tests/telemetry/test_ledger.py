"""The live ledger counts like integrate.py: resets, power gaps, windows that tile the run."""

import math

import pytest

from olmo_green.telemetry.ledger import Ledger, Track, counter_checks
from olmo_green.telemetry.sources.base import Reading


def test_counter_reset_keeps_the_energy_since_restart():
    track = Track(counter=True, max_gap_s=1.0)
    for t, e in [(0.0, 100.0), (0.1, 150.0), (0.2, 30.0), (0.3, 80.0)]:
        track.add(t, math.nan, e)
    assert track.total_j == pytest.approx(130.0) and track.resets == 1


def test_power_across_a_gap_is_not_invented():
    track = Track(counter=False, max_gap_s=0.5)
    for t in (0.0, 0.1, 0.2, 5.0, 5.1):
        track.add(t, 100.0, math.nan)
    assert track.total_j == pytest.approx(30.0) and track.gaps == 1 and track.gap_s == pytest.approx(4.8)


def test_forced_windows_still_add_up_when_samples_arrive_late():
    ledger = Ledger(interval_s=0.1, merge_idle_s=0.0)
    ledger.start("train", 0.0)
    ledger.add([Reading(0.0, "0", "gpu", 100.0, 0.0), Reading(0.1, "0", "gpu", 100.0, 10.0)])
    ledger.end_step(1, 0.25, {"tokens": 1})  # ends after the last sample
    first = ledger.resolve(force=True)
    ledger.add([Reading(0.3, "0", "gpu", 100.0, 30.0)])
    ledger.enter_phase("train", 0.3)
    second = ledger.resolve()
    assert first[0].energy_j + second[0].energy_j == pytest.approx(30.0)


def test_short_idle_joins_the_next_window():
    ledger = Ledger(interval_s=0.1, merge_idle_s=1.0)
    ledger.start("idle", 0.0)
    ledger.enter_phase("train", 0.5)
    assert [(w.phase, w.step, w.start_s) for w in ledger.windows] == [("train", 1, 0.0)]


def test_windows_are_labelled_by_the_ledger_from_the_step_it_continues_from():
    ledger = Ledger(interval_s=0.1, merge_idle_s=0.0)
    ledger.start("idle", 0.0, last_step=5)  # a run resumed from step 5
    ledger.enter_phase("train", 1.0)
    ledger.end_step(6, 2.0, {"tokens": 8})
    ledger.enter_phase("eval", 3.0)
    ledger.enter_phase("train", 4.0)
    ledger.finish(5.0)  # the open train window was never ended by a step: idle
    labels = [(w.phase, w.step) for w in ledger.windows]
    assert labels == [("idle", 5), ("train", 6), ("idle", 6), ("eval", 6), ("idle", 6), ("idle", 6)]
    assert ledger.windows[1].metrics == {"tokens": 8} and ledger.last_step == 6


def test_stuck_counter_is_flagged_against_integrated_power():
    ledger = Ledger(interval_s=0.1)
    for k in range(11):
        t = k * 0.1
        ledger.add([Reading(t, "0", "gpu", 300.0, 300.0 * t, "amdsmi"),
                    Reading(t, "1", "gpu", 300.0, 5.0, "amdsmi")])  # device 1: stuck
    checks = {c["device"]: c for c in counter_checks(ledger.tracks, min_duration_s=1.0)}
    assert checks["0"]["ratio"] == pytest.approx(1.0) and not checks["0"]["suspect"]
    assert checks["1"]["counter_j"] == 0.0 and checks["1"]["suspect"]


def test_cumulative_lookup_matches_numpy_interp():
    import numpy as np

    track = Track(counter=False, max_gap_s=10.0)
    for t, p in [(0.0, 10.0), (0.5, 30.0), (1.5, 20.0), (2.0, 0.0)]:
        track.add(t, p, math.nan)
    for query in (-1.0, 0.0, 0.2, 0.5, 1.0, 1.9, 2.0, 3.0):
        assert track.at_j(query) == pytest.approx(np.interp(query, track.time_s, track.cumulative_j))
