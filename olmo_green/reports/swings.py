"""Grid impact: how a job's power swings over wall time (Morrison et al. 2025, §4.3).

Input is RunEnergy.job_power(): per time bucket (telemetry.summary_bucket_s,
10 s by default) the mean accelerator power summed over nodes. From it:

- peak, mean and floor of the bucket means. The floor is the lowest bucket
  while the job runs (from the first step window's start to the last one's end,
  or the whole series without steps): the dip a grid operator sees, e.g. at a
  checkpoint. Instantaneous peaks and dips are beyond bucket means.
- the largest drop and rise within 1 s and within 10 s: the largest fall (rise)
  from one bucket mean to a later one at most that long after it. A window
  shorter than a bucket cannot be seen: it is reported unavailable, with the
  setting that would show it, never guessed. A step that falls inside a bucket
  is split between two bucket means, so at 10 s buckets the 10 s figure can
  understate a sudden step.
- the count of swings larger than half the peak: monotone runs of adjacent
  buckets (each falling, or each rising) whose total change exceeds 50 % of peak.

Buckets where fewer nodes reported than the job's most are left out: a node
whose record is missing would look like a drop. So are buckets at 0 W: the
summaries give a bucket touched only by a lone sample on its edge (no time
measured in it) 0 W, and no running accelerator draws nothing. Each swing carries the phase
of the bucket on its low side (where a drop lands, where a rise starts), the
phase (train, eval, checkpoint, ...) covering most of that bucket, or
`outside` when no step window does.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from olmo_green.integrate import covered_before
from olmo_green.reports.steps import OUTSIDE

WINDOWS_S = (1.0, 10.0)
HALF = 0.5  # a swing counts when it exceeds this fraction of peak


@dataclass(frozen=True)
class Swing:
    """The largest drop and rise within one window, or why it cannot be seen."""

    window_s: float
    available: bool
    why: str = ""  # when unavailable
    drop_w: float | None = None
    drop_phase: str | None = None
    drop_time_s: float | None = None  # start of the bucket the drop lands in
    rise_w: float | None = None
    rise_phase: str | None = None
    rise_time_s: float | None = None  # start of the bucket the rise leaves
    # Seen in finer buckets than the job's (a trace's log resolution): their width and peak,
    # of which the window's % of peak is. None (and left out of the JSON) otherwise.
    bucket_s: float | None = None
    peak_w: float | None = None


@dataclass(frozen=True)
class PowerSwings:
    """The job's power over wall time, summarised for grid planning."""

    bucket_s: float
    buckets: int  # complete buckets used
    incomplete_buckets: int  # left out: fewer nodes reported than the job's most, or 0 W (no time measured)
    peak_w: float
    mean_w: float
    floor_w: float
    floor_phase: str
    windows: tuple[Swing, ...]
    swings_over_half_peak: int
    nodes: dict = field(default_factory=dict)  # node -> its own windows (a trace of several nodes)

    def within(self, window_s: float) -> Swing:
        return next(s for s in self.windows if s.window_s == window_s)

    @property
    def largest(self) -> Swing:
        """The widest window: the largest drop and rise that can be seen (within 10 s)."""
        return self.windows[-1]

    def percent_of_peak(self, value_w: float | None, peak_w: float | None = None) -> float | None:
        peak_w = self.peak_w if peak_w is None else peak_w
        return None if value_w is None or peak_w <= 0 else 100.0 * value_w / peak_w

    def window_json(self, s: Swing) -> dict:
        own = {k: v for k, v in s.__dict__.items() if v is not None or k not in ("bucket_s", "peak_w")}
        return {**own, "drop_pct_of_peak": self.percent_of_peak(s.drop_w, s.peak_w),
                "rise_pct_of_peak": self.percent_of_peak(s.rise_w, s.peak_w)}

    def to_json(self) -> dict:
        """The fixed keys of docs/design.md (largest = within 10 s), then the detail."""
        big = self.largest
        return {
            "peak_w": self.peak_w, "mean_w": self.mean_w, "floor_w": self.floor_w,
            "largest_drop_w": big.drop_w, "largest_drop_phase": big.drop_phase,
            "largest_rise_w": big.rise_w, "swings_over_half_peak": self.swings_over_half_peak,
            "largest_rise_phase": big.rise_phase, "floor_phase": self.floor_phase, "bucket_s": self.bucket_s,
            "buckets": self.buckets, "incomplete_buckets": self.incomplete_buckets,
            "windows": [self.window_json(s) for s in self.windows],
        } | ({"nodes": {node: [self.window_json(s) for s in windows] for node, windows in self.nodes.items()}}
             if self.nodes else {})


def _phase_cover(steps: pd.DataFrame, start_s: np.ndarray, end_s: np.ndarray) -> np.ndarray:
    """The phase covering most of each [start, end), or OUTSIDE where no phase covers more
    than the time no window covers."""
    if steps is None or steps.empty:
        return np.full(len(start_s), OUTSIDE, dtype=object)
    covered: dict[str, np.ndarray] = {}
    for phase, rows in steps.groupby("phase", sort=True):
        before = covered_before(rows["time_start_s"].to_numpy(float), rows["time_end_s"].to_numpy(float))
        covered[str(phase)] = before(end_s) - before(start_s)
    names = list(covered)
    table = np.vstack([covered[n] for n in names])
    outside = (end_s - start_s) - table.sum(axis=0)
    best = table.argmax(axis=0)
    winner = table[best, np.arange(len(start_s))]
    return np.where(outside >= winner, OUTSIDE, np.array(names, dtype=object)[best])


def _largest(time_s: np.ndarray, power_w: np.ndarray, window_s: float, bucket_s: float,
             phases: np.ndarray) -> Swing:
    """Largest fall and rise between two complete buckets at most `window_s` apart."""
    if bucket_s > window_s:
        return Swing(window_s, False, why=(
            f"not visible in {bucket_s:g} s buckets; record with --set telemetry.summary_bucket_s="
            f"{_bucket_for(window_s):g} (and a sampling interval below it) to see it"))
    lags = int(np.floor(window_s / bucket_s + 1e-9))
    drop = rise = (0.0, -1, -1)  # (W, from index, to index)
    for lag in range(1, lags + 1):
        if lag >= len(power_w):
            break
        near = (time_s[lag:] - time_s[:-lag]) <= window_s + 1e-9
        change = np.where(near, power_w[lag:] - power_w[:-lag], 0.0)
        if change.size and -change.min() > drop[0]:
            i = int(change.argmin())
            drop = (-float(change[i]), i, i + lag)
        if change.size and change.max() > rise[0]:
            i = int(change.argmax())
            rise = (float(change[i]), i, i + lag)
    return Swing(window_s, True, drop_w=drop[0], rise_w=rise[0],
                 drop_phase=str(phases[drop[2]]) if drop[2] >= 0 else None,
                 drop_time_s=float(time_s[drop[2]]) if drop[2] >= 0 else None,
                 rise_phase=str(phases[rise[1]]) if rise[1] >= 0 else None,
                 rise_time_s=float(time_s[rise[1]]) if rise[1] >= 0 else None)


def _bucket_for(window_s: float) -> float:
    """The widest bucket (a divisor of an hour, as telemetry.summary_bucket_s must be) within a window."""
    return 1.0 if window_s >= 1.0 else 0.5


def count_swings(time_s: np.ndarray, power_w: np.ndarray, bucket_s: float, threshold_w: float) -> int:
    """Monotone runs of adjacent buckets whose total change exceeds `threshold_w`; a missing
    bucket or a change of direction ends a run, a flat step does not. Vectorised: a long
    trace has millions of buckets."""
    if len(power_w) < 2:
        return 0
    joined = np.diff(time_s) <= bucket_s + 1e-9
    delta = np.where(joined, np.diff(power_w), 0.0)
    sign = np.sign(delta)
    direction = pd.Series(np.where(sign != 0, sign, np.nan)).ffill().fillna(0.0).to_numpy()
    previous = np.r_[0.0, direction[:-1]]
    turns = (sign != 0) & (previous != 0) & (sign != previous)
    run = np.cumsum(~joined | turns)
    totals = np.bincount(run, weights=delta)
    return int((np.abs(totals) > threshold_w).sum())


def power_swings(job_power: pd.DataFrame, steps: pd.DataFrame | None = None) -> PowerSwings | None:
    """The swings of a job's power (RunEnergy.job_power()); None without any bucket."""
    if job_power is None or job_power.empty:
        return None
    # job_power() comes sorted; copies are avoided where they are not needed (a sparse trace
    # spanning years has millions of buckets)
    frame = job_power if job_power["time_s"].is_monotonic_increasing else job_power.sort_values("time_s")
    # A bucket touched only by a lone sample on its edge has no measured time, and reads 0 W.
    complete = (frame["nodes"].to_numpy() >= frame["nodes"].max()) & (frame["power_w"].to_numpy(float) > 0)
    if not complete.any():
        return None
    kept = frame if complete.all() else frame[complete]
    time_s, power_w = kept["time_s"].to_numpy(float), kept["power_w"].to_numpy(float)
    bucket_s = float(kept["bucket_s"].iloc[0])
    phases = _phase_cover(steps, time_s, time_s + bucket_s)
    running = np.ones(len(time_s), bool)
    if steps is not None and not steps.empty:  # the job runs from its first window to its last
        running = (time_s + bucket_s > steps["time_start_s"].min()) & (time_s < steps["time_end_s"].max())
        running = running if running.any() else np.ones(len(time_s), bool)
    floor_at = int(np.flatnonzero(running)[power_w[running].argmin()])
    peak_w = float(power_w.max())
    return PowerSwings(
        bucket_s=bucket_s, buckets=len(kept), incomplete_buckets=int((~complete).sum()), peak_w=peak_w,
        mean_w=float(power_w.mean()), floor_w=float(power_w[floor_at]), floor_phase=str(phases[floor_at]),
        windows=tuple(_largest(time_s, power_w, w, bucket_s, phases) for w in WINDOWS_S),
        swings_over_half_peak=count_swings(time_s, power_w, bucket_s, HALF * peak_w))


def at_resolution(swings: PowerSwings, fine: pd.DataFrame | None, why: str) -> PowerSwings:
    """A trace's swings with the windows its buckets cannot see taken from `fine` (the job's
    power in finer buckets, as job_power()), or marked unavailable with `why`: never guessed."""
    finer = power_swings(fine) if fine is not None and len(fine) else None
    windows = []
    for s in swings.windows:
        if s.available:
            windows.append(s)
        elif finer is not None and finer.within(s.window_s).available:
            windows.append(replace(finer.within(s.window_s), bucket_s=finer.bucket_s, peak_w=finer.peak_w))
        else:
            windows.append(replace(s, why=why or s.why))
    return replace(swings, windows=tuple(windows))
