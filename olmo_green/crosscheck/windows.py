"""steps.csv's windows against the telemetry's time span.

Both files are written by one run: the meter samples from before the first step until the
run stops, and the trainer appends a row as each window ends. A SIGKILL loses at most
`telemetry.flush_interval_s` of samples (what had not reached the disk), never a steps.csv row
already written. So, with the accelerators' first and last sample as the telemetry's span:

- windows none of which comes near that span are not of the run the telemetry measured (two
  runs' files put together, or steps.csv's times edited): no phase can be read off them, and
  the breakdown would be all `outside`. `report` refuses; `--verify` names it. "Near": within
  GAP_FACTOR sampling intervals of the span (the meter's own limit of continuous sampling:
  a step may start as the sampler does), and after its end also within the flush interval
  (what a kill may have lost).
- a window that starts more than one sampling interval after the last sample held no sample:
  its energy is in no figure (a kill before the last flush, a run that ended inside a gap).
  Counting its tokens would lower energy per token, so it leaves the breakdown and the tokens,
  with a note; not a finding (an honest killed run has such rows).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from olmo_green.integrate import GAP_FACTOR, EnergyCurve
from olmo_green.record.options import DEFAULT_FLUSH_INTERVAL_S

AFTER = "after_telemetry"  # steps.attrs: (rows left out, the last sample's time, the tolerance)


def telemetry_span(curves: Sequence[EnergyCurve]) -> tuple[float, float] | None:
    """The first and last sample over the curves (None: no curve has a sample)."""
    times = [(float(c.time_s[0]), float(c.time_s[-1])) for c in curves if len(c.time_s)]
    if not times:
        return None
    return min(t[0] for t in times), max(t[1] for t in times)


def sampling_interval_s(energy) -> float:
    """The interval the record's gaps are judged at (its max_gap_s / GAP_FACTOR); without one (a
    trace, a record of another tool) the samples' mean spacing over the span; 0 if unknown."""
    max_gap_s = getattr(energy, "max_gap_s", None)
    if max_gap_s and np.isfinite(max_gap_s) and max_gap_s > 0:
        return float(max_gap_s) / GAP_FACTOR
    span = telemetry_span(energy.devices)
    series, samples = len(energy.devices), int(getattr(energy, "samples", 0) or 0)
    if span is None or samples <= series:
        return 0.0
    return (span[1] - span[0]) * series / (samples - series)


def _windows(steps: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return steps["time_start_s"].to_numpy(float), steps["time_end_s"].to_numpy(float)


def disjoint_finding(energy, steps: pd.DataFrame) -> str | None:
    """One line where steps.csv has windows, the record has telemetry, and no window comes near
    the telemetry's span (module docstring); None otherwise."""
    span = telemetry_span(energy.timeline())
    if span is None or steps.empty or "time_start_s" not in steps:
        return None
    start, end = _windows(steps)
    known = np.isfinite(start) & np.isfinite(end)
    if not known.any():
        return None
    start, end = start[known], end[known]
    near_s = GAP_FACTOR * sampling_interval_s(energy)
    flush_s = getattr(energy, "flush_s", None) or DEFAULT_FLUSH_INTERVAL_S
    first, last = span
    if ((end >= first - near_s) & (start <= last + near_s + flush_s)).any():
        return None
    where = (f"{start.min() - last:,.1f} s after its last sample" if start.min() > last
             else f"{first - end.max():,.1f} s before its first sample")
    return (f"steps.csv: none of its {len(start):,} windows ({start.min():.1f} to {end.max():.1f} s) "
            f"overlaps the telemetry ({first:.1f} to {last:.1f} s; they start {where}): steps.csv and "
            "the telemetry are not of the same run (or their times were edited); no phase can be "
            "read off them")


def measured_steps(energy, steps: pd.DataFrame) -> pd.DataFrame:
    """The steps less the rows whose window starts more than one sampling interval after the
    telemetry's last sample (their energy is in no figure); a row whose window runs on past it
    loses its recorded energy_j (the part after the last sample is in no figure either: the
    window's energy is read off the telemetry, and is not held against it). `attrs[AFTER]`
    says how many of each."""
    span = telemetry_span(energy.timeline())
    if span is None or steps.empty or "time_start_s" not in steps:
        return steps
    tolerance_s = sampling_interval_s(energy)
    start, end = _windows(steps)
    after = start > span[1] + tolerance_s
    past = ~after & (end > span[1] + tolerance_s) & ("energy_j" in steps)
    if not after.any() and not past.any():
        return steps
    kept = steps.copy()
    if past.any():
        kept["energy_j"] = pd.to_numeric(kept["energy_j"], errors="coerce").where(~past)
    kept = kept[~after].reset_index(drop=True)
    kept.attrs = {**steps.attrs, AFTER: (int(after.sum()), int(past.sum()), span[1], tolerance_s)}
    return kept


def window_notes(steps: pd.DataFrame) -> list[str]:
    """The report's note on the rows measured_steps left out or read off the telemetry."""
    if steps is None or AFTER not in steps.attrs:
        return []
    after, past, last_s, tolerance_s = steps.attrs[AFTER]
    where = f"one sampling interval, {tolerance_s:.3g} s, after the last sample at {last_s:.1f} s"
    if not after:
        return [f"{past:,} step(s) of steps.csv run on past the telemetry's end (more than {where}): "
                "their energy is read off the telemetry, the part measured"]
    also = (f"; the energy of {past:,} step(s) that run on past it is read off the telemetry (the part "
            "measured)" if past else "")
    return [f"{after:,} step(s) of steps.csv start after the telemetry ends (more than {where}): their "
            "energy was never measured (a run killed before its samples were flushed, or one that ended "
            "inside a gap), so they are left out of the breakdown, and their tokens out of the tokens and "
            f"energy per token{also}"]
