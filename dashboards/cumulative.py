"""Cumulative accelerator energy at every step, from the record's own window figures.

Reading the energy curves at each step's end (the previous way) interpolates between summary
bucket edges: where power is not even inside a bucket (a step, then a dip before the next), the
line is off between edges, and around a resume it read 35% low mid-run. Here the energy up to
time t is what the report adds up:

    every window (train, eval, checkpoint; every attempt, redone steps included, since their
    energy was spent) that ended by t, at the figure the report uses for it
    (reports/steps.window_energy_j: the meter's energy_j of the row), plus
    the energy spent outside windows by t (start-up, stalls, between attempts): exact at each
    summary bucket edge, where the curves are exact (curve energy minus the windows' share), and
    spread over the uncovered time between two edges.

So a step whose windows do not straddle a bucket edge gets its exact cumulative energy; a window
across an edge is split in proportion to its time on each side (at most one bucket's error,
nothing that accumulates). The line never falls back at a resume, and its last point (the end of
the run, after the last step) is the report's total.
"""

from __future__ import annotations

import numpy as np

from olmo_green.dashboards.rundata import RunData
from olmo_green.reports.steps import clean_steps, window_energy_j


def run_total_j(run: RunData) -> float:
    """The run's accelerator energy, as the report counts it (every device's curve, whole)."""
    return float(sum(curve.total_j for curve in run.accelerator_curves))


class _Windows:
    """Non-overlapping windows (clean_steps clips overlaps), sorted, with their energies."""

    def __init__(self, start_s: np.ndarray, end_s: np.ndarray, energy_j: np.ndarray) -> None:
        order = np.argsort(start_s, kind="stable")
        self.start, self.end, self.energy = start_s[order], end_s[order], energy_j[order]
        self.energy_before = np.r_[0.0, np.cumsum(self.energy)]
        self.length_before = np.r_[0.0, np.cumsum(self.end - self.start)]

    def _partial(self, t: np.ndarray, values: np.ndarray, before: np.ndarray) -> np.ndarray:
        """Sum of `values` of windows started by t, the one still open pro rata to its time."""
        k = np.searchsorted(self.start, t, side="right")  # windows started by t
        total = before[k].copy()
        last = np.maximum(k - 1, 0)
        span = self.end[last] - self.start[last]
        with np.errstate(divide="ignore", invalid="ignore"):
            open_part = np.where(span > 0, np.clip((t - self.end[last]) / span, -1.0, 0.0), 0.0)
        return total + np.where(k > 0, open_part * values[last], 0.0)

    def energy_by(self, t: np.ndarray) -> np.ndarray:
        """Window energy spent by t (a window still open counts the share of its time elapsed)."""
        return self._partial(t, self.energy, self.energy_before)

    def ended_energy_by(self, t: np.ndarray) -> np.ndarray:
        """Energy of the windows that had ended by t (a step's end is its window's end)."""
        return self.energy_before[np.searchsorted(self.end, t, side="right")]

    def uncovered_s(self, t: np.ndarray, first_s: float) -> np.ndarray:
        """Time from `first_s` to t that no window covers."""
        covered = self._partial(t, self.end - self.start, self.length_before) - \
            self._partial(np.full(np.shape(t), first_s), self.end - self.start, self.length_before)
        return (t - first_s) - covered


def cumulative_at_steps_j(run: RunData) -> tuple[np.ndarray, float]:
    """(accelerator energy from the start of the run to each train step's end, the run's total).

    NaN at every step where the record has no energy curves or no windows (nothing known)."""
    ends = run.steps["time_end_s"].to_numpy(float)
    curves = [c for c in run.accelerator_curves if len(c.time_s) >= 2]
    total_j = run_total_j(run)
    rows = run.windows if run.windows is not None else run.steps
    rows = clean_steps(rows) if len(rows) else rows
    if not curves or not len(rows):
        return np.full(len(ends), np.nan), total_j
    windows = _Windows(rows["time_start_s"].to_numpy(float), rows["time_end_s"].to_numpy(float),
                       np.asarray(window_energy_j(curves, rows), dtype=float))
    # The curves are exact at their knots (bucket edges): the energy outside windows is exact there.
    knots = np.unique(np.concatenate([c.time_s for c in curves]))
    curve_j = sum(np.interp(knots, c.time_s, c.cumulative_j, left=0.0, right=c.total_j) for c in curves)
    outside_j = np.maximum.accumulate(curve_j - windows.energy_by(knots))  # energy never flows back
    ended = windows.ended_energy_by(ends + 1e-6)  # a step's end is its window's, to float rounding
    return ended + _between_knots(ends, knots, outside_j, windows), total_j


def _between_knots(t: np.ndarray, knots: np.ndarray, outside_j: np.ndarray,
                   windows: _Windows) -> np.ndarray:
    """Outside energy at t: between two knots it grows with the uncovered time elapsed."""
    first = float(knots[0])
    gap_s = windows.uncovered_s(knots, first)
    gap_t = windows.uncovered_s(np.clip(t, knots[0], knots[-1]), first)
    j = np.clip(np.searchsorted(knots, t, side="right") - 1, 0, len(knots) - 2)
    span_s = gap_s[j + 1] - gap_s[j]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(span_s > 0, np.clip((gap_t - gap_s[j]) / span_s, 0.0, 1.0), 0.0)
    value = outside_j[j] + share * (outside_j[j + 1] - outside_j[j])
    return np.where(t >= knots[-1], outside_j[-1], np.where(t <= knots[0], 0.0, value))


def cumulative_line(run: RunData) -> tuple[np.ndarray, np.ndarray]:
    """(step, J) to draw: each train step's cumulative energy, then the run's end at the last step
    (the energy spent after it: a final eval, checkpoint or shutdown), which is the report's total."""
    steps = run.steps["step"].to_numpy(float)
    energy_j, total_j = cumulative_at_steps_j(run)
    if not len(steps) or not np.isfinite(energy_j).any():
        return steps, energy_j
    return np.r_[steps, steps[-1]], np.r_[energy_j, total_j]
