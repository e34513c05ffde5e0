"""One run record, read through olmo_green.runrecord, in the shapes the panels draw.

Everything here is derived from the saved files only (docs/design.md: dashboards
read files, never live objects). Energy comes from the same EnergyCurves the
meter and the reports use, so the dashboard's totals agree with theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green import runrecord
from olmo_green.errors import InputFileError
from olmo_green.reports.steps import usable_steps
from olmo_green.telemetry.integrate import (
    GAP_FACTOR,
    EnergyCurve,
    counter_deltas_j,
    curves_from_samples,
)

ACCELERATOR_DOMAIN = "gpu"


@dataclass
class RunData:
    """The parts of one run record the dashboard uses."""

    name: str
    path: Path
    steps: pd.DataFrame  # train rows only, sorted by step
    phases: pd.DataFrame  # rows with phase != "train" (eval, checkpoint, ...)
    samples: pd.DataFrame
    curves: list[EnergyCurve] = field(default_factory=list)

    @property
    def accelerator_curves(self) -> list[EnergyCurve]:
        return [c for c in self.curves if c.domain == ACCELERATOR_DOMAIN]

    @property
    def methods(self) -> list[str]:
        return sorted({c.method for c in self.accelerator_curves})


def load_run(run_dir: str | Path) -> RunData:
    """Read a run record; a path that is not one is the user's mistake (GreenError)."""
    path = Path(run_dir)
    if not runrecord.is_run_dir(path):
        raise InputFileError(
            f"{run_dir} is not a run record (no config.yaml, steps.csv or telemetry/): "
            "pass the --run-dir of an `olmo-green train` run."
        )
    # Garbage rows and rows without a window are left out and counted, as the report does
    # (runrecord.read_steps, reports/steps.usable_steps); the report's notes give the count.
    steps = usable_steps(runrecord.read_steps(path))
    steps["phase"] = phase = steps["phase"].fillna("train").astype(str)
    # Steps a resumed run redid have rows from both attempts: the redoing attempt's row is drawn.
    train = steps[(phase == "train") & ~runrecord.superseded_steps(steps)]
    train = train.sort_values("step", kind="stable", ignore_index=True)
    phases = steps[phase != "train"].sort_values("time_start_s", kind="stable", ignore_index=True)
    samples = runrecord.read_samples(path)
    curves = curves_from_samples(samples) if len(samples) else []
    return RunData(path.resolve().name, path, train, phases, samples, curves)


def step_of_time(run: RunData, time_s: np.ndarray) -> np.ndarray:
    """Fractional step at each time: x = k at the end of step k, linear in between.

    Eval and checkpoint windows fall between two steps' ends, so their samples
    land between the step they follow and the next, however long they last.
    """
    if len(run.steps) < 2:
        return np.zeros(np.shape(time_s))
    ends = run.steps["time_end_s"].to_numpy(dtype=float)
    numbers = run.steps["step"].to_numpy(dtype=float)
    return np.interp(time_s, ends, numbers)


def device_power_w(samples: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(time_s, power_w) of one device: polled power, or the counter's rate where none."""
    samples = samples.sort_values("time_s", kind="stable")
    time_s = samples["time_s"].to_numpy(dtype=float)
    power = samples["power_w"].to_numpy(dtype=float)
    if np.isfinite(power).any():
        keep = np.isfinite(power)
        return time_s[keep], power[keep]
    energy = samples["energy_j"].to_numpy(dtype=float)
    keep = np.isfinite(energy)
    time_s, energy = time_s[keep], energy[keep]
    if len(time_s) < 2:
        return np.zeros(0), np.zeros(0)
    deltas_j, _ = counter_deltas_j(energy)
    dt = np.diff(time_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(dt > 0, deltas_j / dt, np.nan)
    return (time_s[1:] + time_s[:-1]) / 2.0, rate  # a counter's rate belongs to mid-interval


def gap_mask(time_s: np.ndarray, grid_s: np.ndarray) -> np.ndarray:
    """True where a grid time falls in a gap of `time_s` (longer than a few sample periods)."""
    if len(time_s) < 2:
        return np.ones(len(grid_s), dtype=bool)
    limit = GAP_FACTOR * float(np.median(np.diff(time_s)))
    right = np.clip(np.searchsorted(time_s, grid_s), 1, len(time_s) - 1)
    outside = (grid_s < time_s[0]) | (grid_s > time_s[-1])
    return outside | (time_s[right] - time_s[right - 1] > limit)


def node_power_w(
    devices: list[tuple[np.ndarray, np.ndarray]], max_points: int = 2_000_000
) -> tuple[np.ndarray, np.ndarray]:
    """Sum of device power on a common time grid at the devices' sample period.

    Devices are polled at slightly different instants, so their samples are
    interpolated onto one grid before adding; a grid point inside any device's
    gap is NaN (unknown), never a dip to zero.
    """
    series = [(t, p) for t, p in devices if len(t) >= 2]
    if not series:
        return np.zeros(0), np.zeros(0)
    start = min(t[0] for t, _ in series)
    end = max(t[-1] for t, _ in series)
    period = min(float(np.median(np.diff(t))) for t, _ in series)
    count = int(min(max_points, max(2, (end - start) / period + 1)))
    grid = np.linspace(start, end, count)
    total = np.zeros(count)
    for t, p in series:
        total += np.where(gap_mask(t, grid), np.nan, np.interp(grid, t, p))
    return grid, total


def _uncovered(curve: EnergyCurve, time_s: np.ndarray) -> np.ndarray:
    """True where a time lies beyond a curve's samples by more than a few sample periods."""
    if len(curve.time_s) < 2:
        return np.ones(np.shape(time_s), dtype=bool)
    slack_s = GAP_FACTOR * float(np.median(np.diff(curve.time_s)))
    return (time_s < curve.time_s[0] - slack_s) | (time_s > curve.time_s[-1] + slack_s)


def cumulative_energy_j(run: RunData, time_s: np.ndarray) -> np.ndarray:
    """Accelerator energy (J, all devices) from the start of the run to each time.

    NaN where any device has no samples near that time (its telemetry ended or
    had not begun): a flat line there would read as zero power.
    """
    time_s = np.asarray(time_s, dtype=float)
    total = np.zeros(np.shape(time_s), dtype=float)
    for curve in run.accelerator_curves:
        if len(curve.time_s) >= 2:
            total += np.interp(time_s, curve.time_s, curve.cumulative_j)
        total[_uncovered(curve, time_s)] = np.nan
    return total


def step_energy_j(run: RunData) -> np.ndarray:
    """Accelerator energy (J) inside each train step's window, from the curves.

    Falls back to steps.csv's energy_j when the record has no samples.
    """
    if not run.accelerator_curves:
        return run.steps["energy_j"].to_numpy(dtype=float)
    start = run.steps["time_start_s"].to_numpy(dtype=float)
    end = run.steps["time_end_s"].to_numpy(dtype=float)
    energy = sum(c.energy_between_j(start, end) for c in run.accelerator_curves)
    for curve in run.accelerator_curves:  # unknown, not zero, where a device has no samples
        energy[_uncovered(curve, start) | _uncovered(curve, end)] = np.nan
    return energy
