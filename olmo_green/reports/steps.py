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

from olmo_green.carbon import J_PER_KWH, CarbonFactors
from olmo_green.carbon.intensity import HOUR_S, HourlyIntensity
from olmo_green.runrecord import superseded_steps
from olmo_green.telemetry.integrate import EnergyCurve

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


def clean_steps(steps: pd.DataFrame) -> pd.DataFrame:
    """Steps with usable windows in time order, `phase` defaulting to train.

    Windows never overlap in a record of one writer (a resumed run appends
    later windows). Windows that do overlap an earlier one (an edited or merged
    file) are clipped to start where the earlier one ended, so no energy is
    counted twice; `overlap_s` says how much was clipped. `superseded` marks
    the rows of steps a later attempt redid (runrecord.superseded_steps).
    """
    if steps.empty:
        return steps
    frame = steps.copy()
    frame["phase"] = frame["phase"].fillna("train").astype(str) if "phase" in frame else "train"
    for column in ("time_start_s", "time_end_s", "tokens"):
        frame[column] = pd.to_numeric(frame.get(column), errors="coerce")
    start, end = frame["time_start_s"], frame["time_end_s"]
    frame["superseded"] = superseded_steps(frame)
    frame = frame[start.notna() & end.notna() & (end >= start)]
    frame = frame.sort_values("time_start_s", kind="stable").reset_index(drop=True)
    end = frame["time_end_s"].to_numpy(float)
    previous_end = np.r_[-np.inf, np.maximum.accumulate(end)[:-1]]
    clipped = np.minimum(np.maximum(frame["time_start_s"].to_numpy(float), previous_end), end)
    frame["overlap_s"] = clipped - frame["time_start_s"].to_numpy(float)
    frame["time_start_s"] = clipped
    return frame


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
    tokens = steps.loc[current, "tokens"].sum()
    return float(tokens) if tokens > 0 else None


def _intensity_at_kg_per_kwh(factors: CarbonFactors, time_s: np.ndarray) -> np.ndarray:
    """The headline intensity at each time (an hourly series is looked up by hour)."""
    intensity = factors.intensities[0]
    if not isinstance(intensity, HourlyIntensity):
        return np.full(len(time_s), intensity.kg_per_kwh)
    hour = np.clip(np.searchsorted(intensity.hour_start_s, time_s, side="right") - 1,
                   0, len(intensity.g_per_kwh) - 1)
    inside = (time_s >= intensity.hour_start_s[0]) & (time_s < intensity.hour_start_s[-1] + HOUR_S)
    return np.where(inside, intensity.g_per_kwh[hour] / 1000.0, np.nan)


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
    kg = energy * factors.pue / J_PER_KWH * _intensity_at_kg_per_kwh(factors, (start + end) / 2)
    table = steps[["step", "phase", "time_start_s", "time_end_s", "tokens"]].copy()
    table["energy_j"] = energy
    table["cumulative_energy_j"] = np.cumsum(energy)
    table["cumulative_emissions_kg"] = np.cumsum(np.nan_to_num(kg))
    return table[columns]
