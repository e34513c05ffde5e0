"""Where the energy went: step and phase windows of steps.csv against the curves.

Each row of steps.csv is a window [time_start_s, time_end_s] with a phase
(train, eval, checkpoint, ...). Its energy is the meter's own figure, written
in the row (energy_j: the sensors were read at the window's boundaries), where
every row has one; otherwise (a record from another loop) it is read off the
accelerator curves with energy_between_j, exact at bucket edges and linear
between them. What no window covers (data stalls, start-up, idle) is
the `outside` share, so the phases add up to the run total by construction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from olmo_green import checks
from olmo_green.carbon import CarbonFactors, emissions_kg
from olmo_green.integrate import EnergyCurve
from olmo_green.record import superseded_steps

OUTSIDE = "outside"  # energy in no step or phase window: start-up, data stalls, idle


def window_energy_j(curves: Sequence[EnergyCurve], steps: pd.DataFrame) -> np.ndarray:
    """Accelerator energy of each window: recorded in the rows, else read off the curves."""
    recorded = pd.to_numeric(steps["energy_j"], errors="coerce").to_numpy(float) if "energy_j" in steps \
        else np.full(len(steps), np.nan)
    clipped = steps["overlap_s"].to_numpy(float) > 0 if "overlap_s" in steps else np.zeros(len(steps), bool)
    if len(steps) and np.isfinite(recorded).all() and (recorded >= 0).all() and not clipped.any():
        return recorded
    start, end = steps["time_start_s"].to_numpy(float), steps["time_end_s"].to_numpy(float)
    total = np.zeros(len(start))
    for curve in curves:
        total += curve.energy_between_j(start, end)
    return total


def usable_steps(steps: pd.DataFrame) -> pd.DataFrame:
    """Rows of record.read_steps with a window (both times known); the others are dropped and
    added to `attrs["dropped_rows"]`. The report (clean_steps) and the dashboard (load_run) both
    read steps through here, so they leave out, and count, the same rows."""
    dropped = int(steps.attrs.get("dropped_rows", 0))
    if steps.empty:
        steps = steps.copy()
        steps.attrs["dropped_rows"] = dropped
        return steps
    start = pd.to_numeric(steps.get("time_start_s"), errors="coerce")
    end = pd.to_numeric(steps.get("time_end_s"), errors="coerce")
    # Times that are not UNIX seconds (milliseconds, a clock never set) miss every sample.
    implausible = checks.implausible_times(start.to_numpy(float))
    implausible |= checks.implausible_times(end.to_numpy(float))
    plausible = pd.Series(~implausible, index=steps.index)
    keep = start.notna() & end.notna() & (end >= start) & plausible
    frame = steps[keep].copy()
    frame.attrs["dropped_rows"] = dropped + int((~keep).sum())
    frame.attrs["garbage_cells"] = int(steps.attrs.get("garbage_cells", 0))
    frame.attrs["garbage_rows"] = int(steps.attrs.get("garbage_rows", 0))  # read_steps's; not windowless rows
    return frame


def clean_steps(steps: pd.DataFrame) -> pd.DataFrame:
    """Steps with usable windows in time order, `phase` defaulting to train.

    Windows never overlap in a record of one writer (a resumed run appends
    later windows). Windows that do overlap an earlier one (an edited or merged
    file) are clipped to start where the earlier one ended, so no energy is
    counted twice; `overlap_s` says how much was clipped. `superseded` marks
    the rows of steps a later attempt redid (record.superseded_steps).
    Rows without a window are dropped and counted (usable_steps).
    """
    if steps.empty:
        return steps
    frame = steps.copy()
    frame["phase"] = frame["phase"].fillna("train").astype(str) if "phase" in frame else "train"
    for column in ("time_start_s", "time_end_s", "tokens"):
        frame[column] = pd.to_numeric(frame.get(column), errors="coerce")
    frame["superseded"] = superseded_steps(frame)
    frame = usable_steps(frame)
    dropped = frame.attrs.get("dropped_rows", 0)
    frame = frame.sort_values("time_start_s", kind="stable").reset_index(drop=True)
    end = frame["time_end_s"].to_numpy(float)
    previous_end = np.r_[-np.inf, np.maximum.accumulate(end)[:-1]]
    clipped = np.minimum(np.maximum(frame["time_start_s"].to_numpy(float), previous_end), end)
    frame["overlap_s"] = clipped - frame["time_start_s"].to_numpy(float)
    frame["time_start_s"] = clipped
    frame.attrs["dropped_rows"] = dropped
    return frame


def steps_findings(steps: pd.DataFrame) -> list[str]:
    """For --verify: values in steps.csv that no writer gives (text or inf in a number column, a
    window ending before it starts, a negative token count...). Not unparsable lines: a kill can
    tear the last line of an honest record."""
    rows, cells = (int(steps.attrs.get(key, 0)) for key in ("garbage_rows", "garbage_cells"))
    if not rows and not cells:
        return []
    return [f"steps.csv: {rows:,} row(s) and {cells:,} cell(s) hold values no writer gives (text or inf "
            "in a number column, no step number, a window ending before it starts, a negative or absurd "
            "token count): was steps.csv edited?"]


def steps_notes(steps: pd.DataFrame, events: Sequence[dict] | None = None) -> list[str]:
    """Report notes on what reading the record left out: garbage rows of steps.csv (as counted
    by record.read_steps and usable_steps) and garbage lines of events.jsonl."""
    notes = []
    dropped = int(steps.attrs.get("dropped_rows", 0)) if steps is not None else 0
    if dropped:
        notes.append(f"{dropped:,} row(s) of steps.csv were garbage (unparsable, text in a number column, "
                     "no step or window, a negative or absurd token count, a window ending before it "
                     "starts, or times that are not UNIX seconds) and were left out: the total energy is "
                     "unchanged, the step breakdown and tokens lack them")
    cells = int(steps.attrs.get("garbage_cells", 0)) if steps is not None else 0
    if cells:
        notes.append(f"{cells:,} energy_j, loss or lr cell(s) of steps.csv held text or inf and were read as "
                     "empty: their rows (windows and tokens) are kept, their window energy is read off the "
                     "telemetry")
    skipped = getattr(events, "skipped", 0)
    if skipped:
        notes.append(f"{skipped:,} line(s) of events.jsonl were not valid events (not a JSON object, or a "
                     "field of the wrong type) and were skipped")
    return notes


def phase_energy_j(curves: Sequence[EnergyCurve], steps: pd.DataFrame, total_j: float) -> dict[str, float]:
    """Energy per phase; `outside` is the rest of the run total."""
    if steps.empty:
        return {}  # no windows to split by (a trace): the breakdown is not known
    energy = window_energy_j(curves, steps)
    phases = pd.Series(energy).groupby(steps["phase"].to_numpy()).sum()
    result = {str(k): float(v) for k, v in phases.items()}
    outside_j = total_j - sum(result.values())
    # Rounding of the window sums can leave -1e-12 J: that is zero, not negative energy.
    result[OUTSIDE] = 0.0 if abs(outside_j) <= 1e-9 * max(total_j, 1.0) else outside_j
    return result


def train_tokens(steps: pd.DataFrame) -> float | None:
    """Tokens trained, each step once: a step redone after a resume is not counted twice."""
    if steps.empty or "tokens" not in steps:
        return None
    current = (steps["phase"] == "train") & ~steps["superseded"]
    # A row repeated in the file (a merged or edited steps.csv) is one step, not two.
    rows = steps.loc[current].drop_duplicates(subset=[c for c in ("attempt", "step") if c in steps])
    tokens = rows["tokens"].sum()
    return float(tokens) if tokens > 0 else None


def step_table(curves: Sequence[EnergyCurve], steps: pd.DataFrame, factors: CarbonFactors) -> pd.DataFrame:
    """Per step or phase window: its energy, and cumulative energy and emissions at its end.

    Emissions per window use the headline intensity at the window's midpoint;
    for an hourly series a window across an hour boundary takes its midpoint's
    hour, which is exact for windows shorter than an hour up to that split.
    """
    columns = ["step", "phase", "time_start_s", "time_end_s", "tokens", "energy_j",
               "cumulative_energy_j", "cumulative_emissions_kg"]
    if steps.empty:
        return pd.DataFrame(columns=columns)
    start, end = steps["time_start_s"].to_numpy(float), steps["time_end_s"].to_numpy(float)
    energy = window_energy_j(curves, steps)
    kg = emissions_kg(energy, factors.pue, factors.intensities[0].kg_per_kwh_at((start + end) / 2))
    table = steps[["step", "phase", "time_start_s", "time_end_s", "tokens"]].copy()
    table["energy_j"] = energy
    table["cumulative_energy_j"] = np.cumsum(energy)
    table["cumulative_emissions_kg"] = np.cumsum(np.nan_to_num(kg))
    return table[columns]
