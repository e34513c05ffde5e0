"""One run record, read through its chunk summaries, in the shapes the panels draw.

Everything here is derived from the saved files only (docs/design.md: dashboards
read files, never live objects). Energy comes from the same chunk summaries the
reports read (olmo_green/summaries), so the dashboard's totals agree with theirs
and its cost grows with chunks, buckets and steps, not with samples. Power is
drawn per summary bucket (10 s by default): each bucket's lowest and highest
reading, so peaks survive however long the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green import record as rr
from olmo_green.errors import InputFileError
from olmo_green.integrate import GAP_FACTOR, EnergyCurve
from olmo_green.reports.energy import GPU_DOMAINS, RunEnergy, run_energy
from olmo_green.reports.steps import usable_steps, window_energy_j

ACCELERATOR_DOMAIN = "gpu"
# The device panel draws every device of this many nodes (by name) unless --nodes picks others:
# 256 nodes x 11 devices would give each line a few pixels, and their buckets ~10^8 rows.
DEVICE_PANEL_NODES = 8
# Time steps the device panel's nodes hold in all: it draws 60,000 points, so more would only
# cost memory (each device's buckets are then held coarser, lowest and highest kept).
DEVICE_PANEL_STEPS = 100_000


@dataclass
class RunData:
    """The parts of one run record the dashboard uses."""

    name: str
    path: Path
    steps: pd.DataFrame  # train rows only, sorted by step
    phases: pd.DataFrame  # rows with phase != "train" (eval, checkpoint, ...)
    energy: RunEnergy  # every node, from the summaries (no device buckets)
    detail: RunEnergy  # the device panel's nodes, with each device's buckets
    windows: pd.DataFrame | None = None  # every usable row, all phases and attempts (cumulative.py)

    @property
    def accelerator_curves(self) -> list[EnergyCurve]:
        """Accelerator energy over time, one curve per node (a knot at every bucket edge)."""
        return self.energy.timeline(GPU_DOMAINS)

    @property
    def accelerator_devices(self) -> list[EnergyCurve]:
        return [c for c in self.energy.devices if c.domain in GPU_DOMAINS]

    @property
    def methods(self) -> list[str]:
        return sorted({c.method for c in self.accelerator_devices})

    @property
    def samples(self) -> int:
        return self.energy.samples

    @property
    def detail_note(self) -> str | None:
        """Which nodes the device panel leaves out, if any."""
        shown, every = len(self.detail.nodes), len(self.energy.nodes)
        if shown == every:
            return None
        return (f"{self.name}: devices of {shown} of {every} nodes drawn "
                f"({', '.join(n.node for n in self.detail.nodes[:4])}{', ...' if shown > 4 else ''}); "
                "pick others with --nodes PATTERN")


def load_run(run_dir: str | Path, nodes: str | None = None) -> RunData:
    """Read a run record; a path that is not one is the user's mistake (GreenError).

    `nodes`: a shell pattern (nid0001*) choosing the nodes whose devices are drawn one by one.
    """
    path = Path(run_dir)
    if not rr.is_run_dir(path):
        raise InputFileError(
            f"{run_dir} is not a run record (no config.yaml, steps.csv or telemetry/): "
            "pass the --run-dir of an `olmo-green train` run."
        )
    # Garbage rows and rows without a window are left out and counted, as the report does
    # (rr.read_steps, reports/steps.usable_steps); the report's notes give the count.
    steps = usable_steps(rr.read_steps(path))
    steps["phase"] = phase = steps["phase"].fillna("train").astype(str)
    # Steps a resumed run redid have rows from both attempts: the redoing attempt's row is drawn.
    train = steps[(phase == "train") & ~rr.superseded_steps(steps)]
    train = train.sort_values("step", kind="stable", ignore_index=True)
    phases = steps[phase != "train"].sort_values("time_start_s", kind="stable", ignore_index=True)
    energy = run_energy(path)
    chosen = detail_nodes([n.node for n in energy.nodes], nodes)
    detail = run_energy(path, with_buckets=True, nodes=chosen, held_steps=DEVICE_PANEL_STEPS) \
        if chosen else RunEnergy([])
    return RunData(path.resolve().name, path, train, phases, energy, detail, windows=steps)


def detail_nodes(names: list[str], pattern: str | None) -> list[str]:
    """The nodes whose devices are drawn: those matching `pattern`, else the first few."""
    if pattern is None:
        return names[:DEVICE_PANEL_NODES]
    return rr.match_nodes(names, pattern)


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


def bucket_series(bucket: np.ndarray, low_w: np.ndarray, high_w: np.ndarray,
                  bucket_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(time_s, power_w) to draw from buckets: each bucket's lowest then highest power at its
    middle, and a NaN (a break in the line) where buckets are missing (a telemetry gap)."""
    order = np.argsort(bucket, kind="stable")
    bucket, low_w, high_w = bucket[order], low_w[order], high_w[order]
    mid_s = (bucket.astype(float) + 0.5) * bucket_s
    time_s = np.repeat(mid_s, 2)
    power_w = np.column_stack([low_w, high_w]).ravel()
    breaks = np.flatnonzero(np.diff(bucket) > 1)
    if len(breaks):
        at = 2 * (breaks + 1)
        time_s = np.insert(time_s, at, mid_s[breaks] + bucket_s)
        power_w = np.insert(power_w, at, np.nan)
    return time_s, power_w


def device_buckets(run: RunData) -> list[tuple[str, pd.DataFrame, float]]:
    """(label, its summary buckets, bucket width s) per device of the detail nodes, node-level
    meters excluded; the buckets hold energy_j, covered_s, min_w and max_w (power band, band.py)."""
    found = []
    for node in run.detail.nodes:
        buckets = node.device_buckets
        if buckets is None or not len(buckets):
            continue
        buckets = buckets[buckets["domain"].astype(str) != "node"]
        for (device, domain), rows in buckets.groupby(["device", "domain"], sort=True, observed=True):
            found.append((f"{node.node}/{device} ({domain})", rows, node.bucket_s))
    return found


def device_series(run: RunData) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, time_s, power_w) per device of the detail nodes, node-level meters excluded."""
    series = []
    for label, rows, bucket_s in device_buckets(run):
        covered = rows["covered_s"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(covered > 0, rows["energy_j"].to_numpy(float) / covered, np.nan)
        low = np.where(np.isfinite(rows["min_w"].to_numpy(float)), rows["min_w"].to_numpy(float), mean)
        high = np.where(np.isfinite(rows["max_w"].to_numpy(float)), rows["max_w"].to_numpy(float), mean)
        time_s, power_w = bucket_series(rows["bucket"].to_numpy(np.int64), low, high, bucket_s)
        series.append((label, time_s, power_w))
    return series


def node_series(run: RunData) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, time_s, power_w) per node: its accelerators' mean power summed per bucket, and a
    whole-node meter where the record has one."""
    series = []
    for node in run.energy.nodes:
        for domain, label in ((ACCELERATOR_DOMAIN, "accelerators (sum)"), ("node", "whole node (measured)")):
            frame = node.power.get(domain)
            if frame is None or not len(frame):
                continue
            power = frame["power_w"].to_numpy(float)
            time_s, power_w = bucket_series(frame["bucket"].to_numpy(np.int64), power, power, node.bucket_s)
            series.append((f"{node.node}: {label}", time_s, power_w))
    return series


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
    """Accelerator energy (J) inside each train step's window, as the report counts it
    (reports/steps.window_energy_j: the rows' own energy_j where every row has one).

    NaN where the record has no samples near a window (unknown, not zero).
    """
    if not len(run.steps):
        return np.zeros(0)
    energy = np.asarray(window_energy_j(run.accelerator_curves, run.steps), dtype=float).copy()
    recorded = pd.to_numeric(run.steps["energy_j"], errors="coerce") if "energy_j" in run.steps else None
    if recorded is not None and np.array_equal(energy, recorded.to_numpy(float), equal_nan=True):
        return energy
    if not run.accelerator_curves:
        return np.full(len(run.steps), np.nan)
    start = run.steps["time_start_s"].to_numpy(dtype=float)
    end = run.steps["time_end_s"].to_numpy(dtype=float)
    for curve in run.accelerator_curves:  # unknown, not zero, where a node has no samples
        energy[_uncovered(curve, start) | _uncovered(curve, end)] = np.nan
    return energy
