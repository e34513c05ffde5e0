"""A device's energy counter against its own polled power, window by window.

Counters are the better measurement (design.md, Measurement) until they break:
some freeze, stop, step back or turn to garbage while power readings go on
(seen on ROCm releases; a driver reload mid-chunk). Trusting such a counter
makes energy disappear with no gap on record. So where a chunk holds both, each
window (the summaries' buckets, cut at the chunk's ends) compares the counter's
energy with integrated power over the intervals power measured; where they
disagree beyond the sensors' stated error, those intervals take integrated
power (the counter is what broke: power is what the counter is checked
against), and the window is counted as repaired, so the report and `--verify`
say so. Intervals inside a power gap are left to the counter, which measures
across gaps (a restart after a kill included).

The result is one cumulative curve on the union of both sample times, built
from the counter's deltas (integrate.counter_deltas_j: resets, steps back) and
power's trapezoids (integrate.trapezoid_j, gaps left out), so everything
downstream (buckets, seams, windows) treats it as a counter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from olmo_green.integrate import EnergyCurve, curve_from_samples

# The sensors' stated error. NVML: nvmlDeviceGetPowerUsage "accurate to within +/- 5% of current
# power draw" (NVML API reference, nvmlDeviceQueries); nvidia-smi --help-query-gpu: power.draw
# "accurate to within +/- 5 watts". NVML's and AMD SMI's energy counters state no accuracy, and
# amdsmi states none for average_socket_power: the NVIDIA figures are the only published ones and
# apply to every source here. Sampling adds an edge error: a window's integrated power may miss or
# add up to one sample interval at each end, at the highest power seen (EDGE_INTERVALS).
POWER_TOLERANCE_REL = 0.05
POWER_TOLERANCE_W = 5.0
EDGE_INTERVALS = 2.0
# An interval is compared where power samples cover at least this share of it (not a power gap).
MIN_POWER_COVERAGE = 0.5


@dataclass
class CounterCheck:
    """What comparing one device's counter with its power found, in one chunk."""

    counter_j: float = 0.0  # the counter's energy over the chunk, as read
    power_j: float = 0.0  # integrated power over the chunk (gaps left out)
    repaired_windows: int = 0  # windows where the counter disagreed and power was used
    repaired_s: float = 0.0
    repaired_counter_j: float = 0.0  # in those windows: what the counter said
    repaired_power_j: float = 0.0  # and what power said (used)


def allowed_difference_j(energy_j: np.ndarray, duration_s: np.ndarray, peak_w: float,
                         interval_s: float | np.ndarray) -> np.ndarray:
    """The largest counter-vs-power difference the sensors' stated error explains."""
    return (POWER_TOLERANCE_REL * energy_j + POWER_TOLERANCE_W * duration_s
            + EDGE_INTERVALS * peak_w * interval_s)


def checked_curve(rows: pd.DataFrame, max_gap_s: float | None, bucket_s: float) -> tuple[EnergyCurve,
                                                                                      CounterCheck]:
    """The device's counter curve, repaired from power where the two disagree, and the check.

    Only intervals that power measured are compared: across a power gap (a restart after a kill,
    a sensor that failed) the counter's delta is real energy that power cannot confirm or deny.
    """
    counter = curve_from_samples(rows, max_gap_s, counter=True)
    power = curve_from_samples(rows, max_gap_s, counter=False)
    check = CounterCheck(counter.total_j, power.total_j)
    if len(power.time_s) < 2 or len(counter.time_s) < 1:
        return counter, check  # nothing to compare with: the counter (or its absence) stands
    time_s = np.union1d(counter.time_s, power.time_s)
    counter_dj = np.diff(np.interp(time_s, counter.time_s, counter.cumulative_j))  # 0 where it stopped
    power_dj = np.diff(np.interp(time_s, power.time_s, power.cumulative_j))
    dt = np.diff(time_s)
    measured = np.diff(np.interp(time_s, power.time_s, _covered(power))) >= MIN_POWER_COVERAGE * dt
    # Across a counter reset (a restarted process or driver) the counter's first delta is the new
    # reading, energy from before the samples began that power cannot confirm: like a power gap,
    # the interval ending at the reset is the counter's, not compared. Unless the new reading is
    # more than the device can have drawn over the interval (twice the highest power seen, plus
    # the sensors' error) where power measured it: a garbage counter "resets" at every fall, and
    # such a reading (1e9 J in 20 ms) is no energy since a restart: power takes that interval.
    reset = np.isin(time_s[1:], _reset_times_s(rows))
    powered = measured.copy()  # power measured the interval: where a window is bad, power takes it
    impossible = reset & powered & (counter_dj > (EDGE_INTERVALS * power.peak_w + POWER_TOLERANCE_W) * dt)
    measured &= ~reset
    slot = _windows(time_s, bucket_s)
    window_counter = np.bincount(slot, counter_dj * measured)
    window_power = np.bincount(slot, power_dj * measured)
    window_s = np.bincount(slot, dt * measured)
    # The edge error of a window is one sample spacing at each end: the widest spacing in the window,
    # not the record's median (the meter's extra reads at step boundaries make the median tiny).
    widest_dt_s = np.zeros(len(window_s))
    np.maximum.at(widest_dt_s, slot, dt)
    allowed = allowed_difference_j(np.maximum(window_counter, window_power), window_s, power.peak_w,
                                   widest_dt_s)
    # The integration rule's own error: polled power is an average over the interval before each
    # reading (H100, MI200, our simulator), which the trapezoid mixes with its neighbour's, by up to
    # half the change between the two readings over the interval. Steady power makes it ~0, so a
    # stopped counter is still caught; bursty steps widen it as they widen the real uncertainty.
    allowed += np.bincount(slot, _trapezoid_error_j(rows, time_s) * measured, minlength=len(allowed))
    bad = (window_s > 0) & (np.abs(window_counter - window_power) > allowed)
    bad[slot[impossible]] = True
    if not bad.any():
        return counter, check
    deltas = np.where(bad[slot] & powered, power_dj, counter_dj)  # resets in a broken window too
    check.repaired_windows, check.repaired_s = int(bad.sum()), float(window_s[bad].sum())
    check.repaired_counter_j = float(window_counter[bad].sum())
    check.repaired_power_j = float(window_power[bad].sum())
    counter.time_s, counter.cumulative_j = time_s, np.r_[0.0, np.cumsum(deltas)]
    return counter, check


def _trapezoid_error_j(rows: pd.DataFrame, time_s: np.ndarray) -> np.ndarray:
    """Per interval of `time_s`: half the power change across it times its length."""
    readings = rows[["time_s", "power_w"]].dropna().sort_values("time_s")
    if len(readings) < 2:
        return np.zeros(max(len(time_s) - 1, 0))
    power_w = np.interp(time_s, readings["time_s"].to_numpy(float), readings["power_w"].to_numpy(float))
    return np.abs(np.diff(power_w)) / 2.0 * np.diff(time_s)


def _reset_times_s(rows: pd.DataFrame) -> np.ndarray:
    """Times of the readings where the device's counter went down (a reset or restart)."""
    if "energy_j" not in rows:
        return np.zeros(0)
    readings = rows[["time_s", "energy_j"]].dropna().sort_values("time_s")
    values = readings["energy_j"].to_numpy(float)
    return readings["time_s"].to_numpy(float)[1:][np.diff(values) < 0]


def _covered(curve: EnergyCurve) -> np.ndarray:
    """Cumulative seconds of power samples that are not gaps, at each sample."""
    dt = np.diff(curve.time_s)
    return np.r_[0.0, np.cumsum(np.where(dt > curve.max_gap_s, 0.0, dt))]


def _windows(time_s: np.ndarray, bucket_s: float) -> np.ndarray:
    """Each interval's window: the bucket of its midpoint (epoch-aligned, as the summaries')."""
    bucket = np.floor((time_s[1:] + time_s[:-1]) / 2.0 / bucket_s)
    return (bucket - bucket.min()).astype(np.int64) if len(bucket) else bucket.astype(np.int64)
