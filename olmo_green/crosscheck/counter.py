"""A device's energy counter against its own polled power, window by window.

Counters are the better measurement (design.md, Measurement) until they break:
some freeze, stop, step back or turn to garbage while power readings go on
(seen on ROCm releases; a driver reload mid-chunk). Trusting such a counter
makes energy disappear with no gap on record. So where a chunk holds both, each
window (the summaries' buckets, cut at the chunk's ends) compares the counter's
energy with integrated power over the intervals power measured. Where they
disagree beyond the sensors' stated error, the counter is replaced only where
it shows how it broke: it stalled (where it moved at all it agrees with power;
its flat stretch carries the difference), it rose faster than the device can
draw (the profile's limit), or it "reset" to a reading no restart explains.
Those intervals take integrated power, and the window is counted as repaired.
A counter that kept moving is the better measurement (design.md: polled power
misses most of each window on A100/H100), so where it disagrees without such a
sign, it is kept and the window counted as disputed; and where the disputes,
over the whole chunk, leave the counter and power apart beyond the sensors'
error, one of the two was altered and nothing tells which: the check says how
far (`unexplained_j`), and `report` refuses. Intervals inside a power gap are
left to the counter, which measures across gaps (a restart after a kill
included).

The result is one cumulative curve on the union of both sample times, built
from the counter's deltas (integrate.counter_deltas_j: resets, steps back) and
power's trapezoids (integrate.trapezoid_j, gaps left out), so everything
downstream (buckets, seams, windows) treats it as a counter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from olmo_green.integrate import GAP_FACTOR, EnergyCurve, curve_from_samples

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
    repaired_windows: int = 0  # windows where the counter broke and power was used
    repaired_s: float = 0.0
    repaired_counter_j: float = 0.0  # in those windows: what the counter said
    repaired_power_j: float = 0.0  # and what power said (used)
    disputed_windows: int = 0  # windows where the two disagree but the counter shows no fault: kept
    disputed_s: float = 0.0
    disputed_counter_j: float = 0.0  # in those windows: what the counter said (used)
    disputed_power_j: float = 0.0  # and what power said
    # Over the chunk, where any window is disputed: how far the counter (as used) and power stay
    # apart beyond the sensors' stated error. Above 0, one was altered: `report` refuses.
    unexplained_j: float = 0.0


def allowed_difference_j(energy_j: np.ndarray, duration_s: np.ndarray, peak_w: float,
                         interval_s: float | np.ndarray) -> np.ndarray:
    """The largest counter-vs-power difference the sensors' stated error explains."""
    return (POWER_TOLERANCE_REL * energy_j + POWER_TOLERANCE_W * duration_s
            + EDGE_INTERVALS * peak_w * interval_s)


@dataclass
class _Compared:
    """Counter and power on the union of their sample times, interval by interval."""

    time_s: np.ndarray
    counter_dj: np.ndarray
    power_dj: np.ndarray
    measured: np.ndarray  # power measured the interval, and the counter did not reset in it
    powered: np.ndarray  # power measured the interval
    impossible: np.ndarray  # the counter "reset" to more than the device can have drawn
    trapezoid_j: np.ndarray  # the integration rule's own error
    peak_w: float
    power_w: np.ndarray  # power at each time (readings, linear between them)
    update_s: float  # the counter's usual time between its changes (0: unknown, it barely moved)


def checked_curve(rows: pd.DataFrame, max_gap_s: float | None, bucket_s: float,
                  limit_w: float | None = None) -> tuple[EnergyCurve, CounterCheck]:
    """The device's counter curve, repaired from power where the counter broke, and the check.

    Only intervals that power measured are compared: across a power gap (a restart after a kill,
    a sensor that failed) the counter's delta is real energy that power cannot confirm or deny.
    `limit_w`: the most power the device can draw (checks.gpu_limit_w), None where unknown.
    """
    counter = curve_from_samples(rows, max_gap_s, counter=True)
    power = curve_from_samples(rows, max_gap_s, counter=False)
    check = CounterCheck(counter.total_j, power.total_j)
    if len(power.time_s) < 2 or len(counter.time_s) < 1:
        return counter, check  # nothing to compare with: the counter (or its absence) stands
    c = _compare(rows, counter, power)
    slot = _windows(c.time_s, bucket_s)
    dt = np.diff(c.time_s)
    window_counter = np.bincount(slot, c.counter_dj * c.measured)
    window_power = np.bincount(slot, c.power_dj * c.measured)
    window_s = np.bincount(slot, dt * c.measured)
    # The edge error of a window is one sample spacing at each end: the widest compared spacing in
    # the window, not the record's median (the meter's extra reads at step boundaries make the median
    # tiny), nor a gap's (not compared: a 1 s gap made a window's allowance 1 kJ, so a counter that
    # stopped reporting after it went unseen).
    widest_dt_s = np.zeros(len(window_s))
    np.maximum.at(widest_dt_s, slot, np.where(c.measured, dt, 0.0))
    allowed = allowed_difference_j(np.maximum(window_counter, window_power), window_s, c.peak_w,
                                   widest_dt_s)
    allowed += np.bincount(slot, c.trapezoid_j * c.measured, minlength=len(allowed))
    bad = (window_s > 0) & (np.abs(window_counter - window_power) > allowed)
    broke = np.zeros(len(bad), dtype=bool)
    broke[slot[c.impossible]] = True
    broke |= bad & _stalled_or_too_fast(c, slot, window_counter, window_power, window_s, allowed, limit_w)
    disputed = bad & ~broke
    if not (broke.any() or disputed.any()):
        return counter, check
    deltas = np.where(broke[slot] & c.powered, c.power_dj, c.counter_dj)  # resets in a broken window too
    if disputed.any():
        check.unexplained_j = _unexplained_j(c, deltas)
    check.repaired_windows, check.repaired_s = int(broke.sum()), float(window_s[broke].sum())
    check.repaired_counter_j = float(window_counter[broke].sum())
    check.repaired_power_j = float(window_power[broke].sum())
    check.disputed_windows, check.disputed_s = int(disputed.sum()), float(window_s[disputed].sum())
    check.disputed_counter_j = float(window_counter[disputed].sum())
    check.disputed_power_j = float(window_power[disputed].sum())
    counter.time_s, counter.cumulative_j = c.time_s, np.r_[0.0, np.cumsum(deltas)]
    return counter, check


def _compare(rows: pd.DataFrame, counter: EnergyCurve, power: EnergyCurve) -> _Compared:
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
    # The integration rule's own error: polled power is an average over the interval before each
    # reading (H100, MI200, our simulator), which the trapezoid mixes with its neighbour's, by up to
    # half the change between the two readings over the interval. Steady power makes it ~0, so a
    # stopped counter is still caught; bursty steps widen it as they widen the real uncertainty.
    power_w = _power_at(rows, time_s)
    moved_s = time_s[1:][counter_dj > 0]
    update_s = float(np.median(np.diff(moved_s))) if len(moved_s) > 2 else 0.0
    return _Compared(time_s, counter_dj, power_dj, measured & ~reset, powered, impossible,
                     np.abs(np.diff(power_w)) / 2.0 * dt, power.peak_w, power_w, update_s)


def _stalled_or_too_fast(c: _Compared, slot: np.ndarray, window_counter: np.ndarray,
                         window_power: np.ndarray, window_s: np.ndarray, allowed: np.ndarray,
                         limit_w: float | None) -> np.ndarray:
    """Per window: the counter shows how it broke. It stalled: leaving out the stretches where it
    did not move for longer than it ever pauses between its own updates (_stalls), it agrees with
    power (a counter frozen a fifth of the way into a window moved in that fifth only). Or it rose
    faster, over the window, than the device can draw."""
    stall = _stalls(c)
    stall_power_j = np.bincount(slot, c.power_dj * stall, minlength=len(window_s))
    stalled = (stall_power_j > 0) & (np.abs(window_counter - (window_power - stall_power_j)) <= allowed)
    if limit_w is None:
        return stalled
    return stalled | (window_counter > limit_w * window_s + allowed)


def _stalls(c: _Compared) -> np.ndarray:
    """Per interval: inside a stretch where the counter did not move for more than GAP_FACTOR times
    its usual spacing between updates (the median time between its changes). A counter read more
    often than it updates is flat between updates, honestly: only a pause well beyond its own
    rhythm is a stall. One that never changed at all stalled wherever power measured energy."""
    flat = c.measured & (c.counter_dj <= 0)
    if not flat.any():
        return flat
    dt = np.diff(c.time_s)
    usual_s = c.update_s
    starts = np.r_[True, ~flat[:-1]] & flat  # the first interval of each flat stretch
    run = np.cumsum(starts) - 1
    run_s = np.bincount(run[flat], dt[flat])
    long = run_s > GAP_FACTOR * usual_s
    return flat & long[np.maximum(run, 0)]


def _unexplained_j(c: _Compared, deltas: np.ndarray) -> float:
    """The chunk's counter (as used) against its power over every interval both measured, beyond
    what the sensors' stated error and the power readings' meaning explain, whichever meaning they
    have (the lesser excess of two):

    - each reading the mean power since the one before (MI200, our simulator): the energy is then
      each reading times its interval, exactly;
    - each an instant (A100), or a mean over some other window (H100's 1 s): the trapezoid, whose
      error per interval is at most half the change between the readings times the interval
      (`trapezoid_j`), summed. Not less: readings at a fixed phase of the load (the meter's reads
      at step boundaries) make those errors add up rather than cancel, and an exact counter beside
      such power is honest (a bound that assumed they cancel refused such runs).

    An honest window or two in dispute leave the chunk within this; a column scaled throughout
    beside steady power does not (beside bursty power the trapezoid's sum can hide a fifth)."""
    dt = np.diff(c.time_s)
    m = c.measured
    counter_j = float((deltas * m).sum())
    seconds = float((dt * m).sum())
    # A counter updating less often than it is read lags by up to one of its own updates at each end.
    widest_s = max(float(dt[m].max()) if m.any() else 0.0, c.update_s)

    def excess(power_j: float, rule_j: float) -> float:
        allowed = allowed_difference_j(np.float64(max(counter_j, power_j)), np.float64(seconds), c.peak_w,
                                       widest_s)
        return abs(counter_j - power_j) - float(allowed) - rule_j

    averaged_j = float((c.power_w[1:] * dt * m).sum())
    instant = excess(float((c.power_dj * m).sum()), float((c.trapezoid_j * m).sum()))
    return max(0.0, min(excess(averaged_j, 0.0), instant))


def _power_at(rows: pd.DataFrame, time_s: np.ndarray) -> np.ndarray:
    """The power readings at `time_s`, linear between them (0 where there is none)."""
    readings = rows[["time_s", "power_w"]].dropna().sort_values("time_s")
    if not len(readings):
        return np.zeros(len(time_s))
    return np.interp(time_s, readings["time_s"].to_numpy(float), readings["power_w"].to_numpy(float))


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
