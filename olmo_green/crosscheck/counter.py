"""A device's energy counter against its own polled power, window by window.

Counters are the better measurement (design.md, Measurement) until they break:
some freeze, stop, step back or turn to garbage while power readings go on
(seen on ROCm releases; a driver reload mid-chunk). Trusting such a counter
makes energy disappear with no gap on record. So where a chunk holds both, each
window (the summaries' buckets, cut at the chunk's ends) compares the counter's
energy with integrated power; where they disagree beyond the sensors' stated
error, the window takes integrated power (the counter is what broke: power is
what the counter is checked against), and the window is counted as repaired,
so the report and `--verify` say so. Windows where power itself has a gap are
left to the counter, which measures across gaps.

The result is one cumulative curve on the union of both sample times, built
from the counter's deltas (integrate.counter_deltas_j: resets, steps back) and
power's trapezoids (integrate.trapezoid_j, gaps left out), so everything
downstream (buckets, seams, windows) treats it as a counter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from olmo_green.telemetry.integrate import EnergyCurve, curve_from_samples

# The sensors' stated error. NVML: nvmlDeviceGetPowerUsage "accurate to within +/- 5% of current
# power draw" (NVML API reference, nvmlDeviceQueries); nvidia-smi --help-query-gpu: power.draw
# "accurate to within +/- 5 watts". NVML's and AMD SMI's energy counters state no accuracy, and
# amdsmi states none for average_socket_power: the NVIDIA figures are the only published ones and
# apply to every source here. Sampling adds an edge error: a window's integrated power may miss or
# add up to one sample interval at each end, at the highest power seen (EDGE_INTERVALS).
POWER_TOLERANCE_REL = 0.05
POWER_TOLERANCE_W = 5.0
EDGE_INTERVALS = 2.0
# A window compared must be at least this much covered by power samples (not a power gap).
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
                         interval_s: float) -> np.ndarray:
    """The largest counter-vs-power difference the sensors' stated error explains."""
    return (POWER_TOLERANCE_REL * energy_j + POWER_TOLERANCE_W * duration_s
            + EDGE_INTERVALS * peak_w * interval_s)


def checked_curve(rows: pd.DataFrame, max_gap_s: float | None, bucket_s: float) -> tuple[EnergyCurve,
                                                                                      CounterCheck]:
    """The device's counter curve, repaired from power where the two disagree, and the check."""
    counter = curve_from_samples(rows, max_gap_s, counter=True)
    power = curve_from_samples(rows, max_gap_s, counter=False)
    check = CounterCheck(counter.total_j, power.total_j)
    if len(power.time_s) < 2 or len(counter.time_s) < 1:
        return counter, check  # nothing to compare with: the counter (or its absence) stands
    time_s = np.union1d(counter.time_s, power.time_s)
    counter_j = np.interp(time_s, counter.time_s, counter.cumulative_j)  # flat where it stopped
    power_j = np.interp(time_s, power.time_s, power.cumulative_j)
    covered_s = np.interp(time_s, power.time_s, _covered(power))
    edges = _window_edges(time_s[0], time_s[-1], bucket_s)
    window_counter = np.diff(np.interp(edges, time_s, counter_j))
    window_power = np.diff(np.interp(edges, time_s, power_j))
    duration = np.diff(edges)
    compared = np.diff(np.interp(edges, time_s, covered_s)) >= MIN_POWER_COVERAGE * duration
    interval_s = float(np.median(np.diff(power.time_s)))
    allowed = allowed_difference_j(np.maximum(window_counter, window_power), duration, power.peak_w,
                                   interval_s)
    bad = compared & (np.abs(window_counter - window_power) > allowed)
    if not bad.any():
        return counter, check
    slot = np.clip(np.searchsorted(edges, (time_s[1:] + time_s[:-1]) / 2.0) - 1, 0, len(bad) - 1)
    deltas = np.where(bad[slot], np.diff(power_j), np.diff(counter_j))
    check.repaired_windows, check.repaired_s = int(bad.sum()), float(duration[bad].sum())
    check.repaired_counter_j = float(window_counter[bad].sum())
    check.repaired_power_j = float(window_power[bad].sum())
    counter.time_s, counter.cumulative_j = time_s, np.r_[0.0, np.cumsum(deltas)]
    return counter, check


def _covered(curve: EnergyCurve) -> np.ndarray:
    """Cumulative seconds of power samples that are not gaps, at each sample."""
    dt = np.diff(curve.time_s)
    return np.r_[0.0, np.cumsum(np.where(dt > curve.max_gap_s, 0.0, dt))]


def _window_edges(start_s: float, end_s: float, bucket_s: float) -> np.ndarray:
    """The chunk's ends and every bucket edge between them (epoch-aligned, as the summaries')."""
    inner = np.arange(np.floor(start_s / bucket_s) + 1, np.ceil(end_s / bucket_s)) * bucket_s
    return np.unique(np.r_[start_s, inner[(inner > start_s) & (inner < end_s)], end_s])
