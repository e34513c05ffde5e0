"""Samples -> energy: the measurement method in pure functions.

Used live by the meter and offline by reports, so both count energy the same way.

A device's samples become an EnergyCurve: cumulative energy (J) at each sample
time, linear in between. Energy inside any window [a, b] is then
curve(b) - curve(a), found for many windows at once with np.interp; this is how
steps, phases and hours of an intensity series get their share.

- Counters (energy_j present): deltas of the cumulative counter. A negative
  delta is a wrap (if the counter's range is known and the numbers fit) or a
  reset: the counter restarted from zero, so the energy since the reset is the
  new reading. Never negative energy; the energy before the reset is kept.
- Power (power_w only): trapezoid rule between samples.
- Gaps: an interval longer than `max_gap_s`. A counter still measures across
  it (its delta is real energy), so it counts; integrated power does not, so
  the curve stays flat across the gap and the gap's duration and an upper
  bound (duration x highest power seen) are reported instead of invented energy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Sources whose figures are not measurements of this run (docs/design.md, Measurement).
SOURCE_METHODS = {"simulated": "modelled", "replay": "replayed"}
GAP_FACTOR = 5.0  # a gap is longer than this many median sample periods


@dataclass
class EnergyCurve:
    """Cumulative energy of one device over time, and how it was obtained."""

    node: str
    device: str
    domain: str
    source: str
    method: str  # one of record.METHODS
    time_s: np.ndarray
    cumulative_j: np.ndarray
    gaps: int = 0
    gap_s: float = 0.0
    gap_upper_j: float = 0.0  # power gaps only: energy not counted, at most this
    resets: int = 0
    # What a chunk summary needs to join this curve to the next chunk's (telemetry/summaries):
    first_value: float = float("nan")  # the first and last reading used (counter J or power W)
    last_value: float = float("nan")
    peak_w: float = 0.0  # highest power used (power integration only): the bound of a gap
    max_gap_s: float = float("inf")  # intervals longer than this were gaps
    counter: bool = False  # True: from the cumulative counter; False: integrated power
    # A domain's timeline only: the most and least power it drew inside each segment between
    # knots (summaries/bounds.py; inf and 0 where unknown), for the steps.csv check.
    ceiling_w: np.ndarray | None = None
    floor_w: np.ndarray | None = None

    @property
    def total_j(self) -> float:
        return float(self.cumulative_j[-1]) if len(self.cumulative_j) else 0.0

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1] - self.time_s[0]) if len(self.time_s) else 0.0

    def energy_between_j(self, start_s: np.ndarray, end_s: np.ndarray) -> np.ndarray:
        """Energy (J) inside each window [start_s, end_s]; zero outside the samples."""
        if len(self.time_s) < 2:
            return np.zeros(np.shape(start_s))
        at_end = np.interp(end_s, self.time_s, self.cumulative_j)
        at_start = np.interp(start_s, self.time_s, self.cumulative_j)
        return at_end - at_start


# A counter that restarted reads near zero; one that drops by less than half its reading did not
# restart: it stepped back (a driver bug that decrements by a little, e.g. some ROCm releases).
# Counting that as a reset would add the whole reading (megajoules) each time.
RESTART_BELOW = 0.5


def _drop_energy_j(before_j: np.ndarray, after_j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Energy of intervals where the counter dropped, and which drops were restarts: a restart
    gets its new reading (energy since zero); a step back gets nothing."""
    restarted = after_j < RESTART_BELOW * before_j
    return np.where(restarted, after_j, 0.0), restarted


def counter_step_j(before_j: np.ndarray, after_j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Energy between pairs of counter readings, and which pairs reset. counter_deltas_j's rule
    without a wrap range, for readings that are not one array (the seams of chunks)."""
    before_j, after_j = np.asarray(before_j, dtype=float), np.asarray(after_j, dtype=float)
    deltas = after_j - before_j
    dropped = deltas < 0
    drop_j, restarted = _drop_energy_j(before_j, after_j)
    return np.where(dropped, drop_j, deltas), dropped & restarted


def counter_deltas_j(energy_j: np.ndarray, wrap_j: float | None = None) -> tuple[np.ndarray, int]:
    """Per-interval energy from a cumulative counter, and the number of resets.

    A drop in the counter is a wrap when `wrap_j` (the counter's range) is given
    and the wrapped delta is smaller than the range; otherwise a reset if the new
    reading is near zero (its interval gets the new reading, energy since the
    counter restarted), or a step back (RESTART_BELOW: nothing is counted).
    """
    deltas = np.diff(energy_j)
    drops = deltas < 0
    if not drops.any():
        return deltas, 0
    before, after = energy_j[:-1][drops], energy_j[1:][drops]
    drop_j, restarted = _drop_energy_j(before, after)
    if wrap_j:
        wrapped = deltas[drops] + wrap_j
        deltas[drops] = np.where(wrapped >= 0, wrapped, drop_j)
        resets = int(((wrapped < 0) & restarted).sum())
    else:
        deltas[drops] = drop_j
        resets = int(restarted.sum())
    return deltas, resets


def trapezoid_j(time_s: np.ndarray, power_w: np.ndarray) -> np.ndarray:
    """Per-interval energy (J) of polled power by the trapezoid rule."""
    return np.diff(time_s) * (power_w[1:] + power_w[:-1]) / 2.0


def interval_j(before_s: float, after_s: float, before: float, after: float, counter: bool,
               max_gap_s: float) -> tuple[float, bool, int]:
    """One interval's energy by the rules above, for the live ledger (one sample at a time):
    (energy J, whether it is a gap, counter resets). A counter counts across a gap (it kept
    counting); polled power does not (bounded in reports, never invented)."""
    gap = after_s - before_s > max_gap_s
    if counter:
        if after >= before:
            return after - before, gap, 0  # the common case, without building arrays
        deltas, resets = counter_deltas_j(np.array([before, after]))
        return float(deltas[0]), gap, resets
    if gap:
        return 0.0, gap, 0
    return float(trapezoid_j(np.array([before_s, after_s]), np.array([before, after]))[0]), gap, 0


def trapezoid_step_j(before_s: float, after_s: float, before_w: float, after_w: float) -> float:
    """trapezoid_j for one interval, in plain floats (the same arithmetic)."""
    return (after_s - before_s) * (after_w + before_w) / 2.0


def bucket_of(time_s: float | np.ndarray, bucket_s: float) -> np.ndarray:
    """The bucket a time falls in: floor(time_s / bucket_s), epoch-aligned, so buckets that
    divide an hour line up with the hours of an intensity series. The one bucketing rule."""
    return np.floor(np.asarray(time_s) / bucket_s)


def covered_before(start_s: np.ndarray, end_s: np.ndarray):
    """x -> the seconds before x that the windows [start, end) cover, overlaps counted once: a
    piecewise-linear function of x, built once (O(windows log windows)) and read at any times
    with np.interp. The phase of a power swing and the steps.csv cross-check both read it."""
    start_s, end_s = np.asarray(start_s, dtype=float), np.asarray(end_s, dtype=float)
    if not len(start_s):
        return lambda x_s: np.zeros(np.shape(x_s))
    order = np.argsort(start_s, kind="stable")
    start_s, end_s = start_s[order], np.maximum(end_s[order], start_s[order])
    reach_s = np.maximum.accumulate(end_s)
    opens = np.flatnonzero(np.r_[True, start_s[1:] > reach_s[:-1]])  # a window past all before it
    merged_start, merged_end = start_s[opens], np.maximum.reduceat(end_s, opens)
    lengths = merged_end - merged_start
    knots = np.column_stack([merged_start, merged_end]).ravel()  # strictly increasing
    done = np.r_[0.0, np.cumsum(lengths)[:-1]]
    covered = np.column_stack([done, done + lengths]).ravel()
    return lambda x_s: np.interp(x_s, knots, covered)


def default_max_gap_s(time_s: np.ndarray) -> float:
    """A few median sample periods: longer intervals are gaps."""
    if len(time_s) < 2:
        return float("inf")
    return GAP_FACTOR * float(np.median(np.diff(time_s)))


def method_for(source: str, counter: bool) -> str:
    return SOURCE_METHODS.get(source, "counter" if counter else "power_integration")


def counter_values(samples: pd.DataFrame) -> int:
    """How many readings of the cumulative counter a device's samples hold."""
    return int(np.isfinite(samples["energy_j"].to_numpy(dtype=float)).sum()) if "energy_j" in samples else 0


def uses_counter(counter_readings: int) -> bool:
    """A device's energy comes from its counter when it has two readings or more (else power)."""
    return counter_readings >= 2


def curve_from_samples(
    samples: pd.DataFrame, max_gap_s: float | None = None, wrap_j: float | None = None,
    counter: bool | None = None,
) -> EnergyCurve:
    """The EnergyCurve of one device's samples (sorted by time, one device).

    `counter` forces the column (a chunk of a device whose other chunks decide it);
    by default the counter is used where the samples hold two readings of it or more.
    """
    first = samples.iloc[0] if len(samples) else {}
    labels = {k: str(first.get(k, "")) for k in ("node", "device", "domain", "source")}
    if counter is None:
        counter = uses_counter(counter_values(samples))
    column = "energy_j" if counter else "power_w"
    if column not in samples:
        samples = samples.assign(**{column: np.nan})
    valid = samples[np.isfinite(samples[column].to_numpy(dtype=float))]
    valid = valid.drop_duplicates("time_s", keep="last")
    time_s = valid["time_s"].to_numpy(dtype=float)
    values = valid[column].to_numpy(dtype=float)
    limit = default_max_gap_s(time_s) if max_gap_s is None else max_gap_s
    dt = np.diff(time_s)
    is_gap = dt > limit
    resets = 0
    gap_upper_j = peak_w = 0.0
    if counter:
        deltas, resets = counter_deltas_j(values, wrap_j)
    else:
        deltas = trapezoid_j(time_s, values)
        peak_w = float(values.max()) if len(values) else 0.0
        gap_upper_j = float(dt[is_gap].sum() * peak_w)
        deltas = np.where(is_gap, 0.0, deltas)
    cumulative = np.concatenate([[0.0], np.cumsum(deltas)]) if len(time_s) else np.zeros(0)
    ends = (float(values[0]), float(values[-1])) if len(values) else (np.nan, np.nan)
    return EnergyCurve(
        method=method_for(labels["source"], counter), time_s=time_s, cumulative_j=cumulative,
        gaps=int(is_gap.sum()), gap_s=float(dt[is_gap].sum()), gap_upper_j=gap_upper_j,
        resets=resets, first_value=ends[0], last_value=ends[1], peak_w=peak_w, max_gap_s=limit,
        counter=counter, **labels,
    )


def device_slices(samples: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[int, int]]]:
    """The frame ordered by (node, device, domain) then time, and each device's row range.

    Equal times keep file order (stable); a frame already in that order (the usual
    layout) is not copied, which matters for tens of millions of samples.
    """
    missing = {k: ("gpu" if k == "domain" else "") for k in ("node", "domain", "source") if k not in samples}
    frame = samples.assign(**missing) if missing else samples
    # observed=True: with categorical columns only the combinations present are
    # groups, not every node x device x domain product.
    codes = frame.groupby(["node", "device", "domain"], sort=True, dropna=False, observed=True).ngroup()
    codes = codes.to_numpy()
    time_s = frame["time_s"].to_numpy(dtype=float)
    step, tick = np.diff(codes), np.diff(time_s)
    if not ((step > 0) | ((step == 0) & (tick >= 0))).all():  # O(n) check before an O(n log n) sort
        order = np.lexsort((time_s, codes))
        frame, codes = frame.take(order), codes[order]
    bounds = np.flatnonzero(np.diff(codes)) + 1
    starts, ends = np.r_[0, bounds], np.r_[bounds, len(codes)]
    return frame, list(zip(starts.tolist(), ends.tolist(), strict=True))


def curves_from_samples(samples: pd.DataFrame, max_gap_s: float | None = None) -> list[EnergyCurve]:
    """One EnergyCurve per (node, device, domain) in a frame of samples, in key order."""
    if samples.empty:
        return []
    frame, ranges = device_slices(samples)
    return [curve_from_samples(frame.iloc[s:e], max_gap_s) for s, e in ranges]
