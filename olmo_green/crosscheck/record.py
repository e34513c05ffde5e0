"""A record's parts against each other: the findings `report` notes and `--verify` fails on.

Each finding is one line. `report` fixes what it can (the counter repaired from
power, a duplicate chunk counted once, the chunks' sampling interval used, step
energies read off the telemetry) and says so; `report --verify` exits 1 on any.
Everything here reads chunk summaries and steps, never raw samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from olmo_green.crosscheck.counter import POWER_TOLERANCE_REL, POWER_TOLERANCE_W
from olmo_green.integrate import EnergyCurve, covered_before

STEPS_ENERGY = "energy_j"


def counter_findings(checks: Sequence[pd.DataFrame]) -> list[str]:
    """One line per device whose counter disagreed with its power somewhere: repaired from power
    where the counter broke, kept where it did not (disputed_findings refuses what stays apart)."""
    lines = []
    for frame in checks:
        for row in frame[frame["repaired_windows"] > 0].itertuples(index=False):
            lines.append(
                f"{_device(row)}: the energy counter disagrees with integrated power "
                f"beyond the sensors' stated error ({ERROR}) in "
                f"{int(row.repaired_windows)} window(s), {row.repaired_s:,.1f} s: counter "
                f"{row.repaired_counter_j:,.1f} J, power {row.repaired_power_j:,.1f} J; power_integration "
                "used there (a counter that stopped, froze or turned to garbage)")
        for row in _disputed(frame, frame["unexplained_j"] <= 0).itertuples(index=False):
            lines.append(
                f"{_device(row)}: integrated power disagrees with the energy counter beyond the sensors' "
                f"stated error ({ERROR}) in {int(row.disputed_windows)} window(s), {row.disputed_s:,.1f} s: "
                f"counter {row.disputed_counter_j:,.1f} J, power {row.disputed_power_j:,.1f} J; the counter "
                "kept moving, so it is kept (polled power misses most of each window on A100/H100)")
    return lines + disputed_findings(checks)


def disputed_findings(checks: Sequence[pd.DataFrame]) -> list[str]:
    """One line per device whose counter and power stay apart over whole chunks beyond the sensors'
    error, the counter showing no fault: one of the two is wrong (edited, or a sensor far off its
    stated error: a ROCm counter seen running slow), and which is unknown, so no figure can be
    given (`report` refuses on these)."""
    lines = []
    for frame in checks:
        if "unexplained_j" not in frame:
            continue
        for row in frame[frame["unexplained_j"] > 0].itertuples(index=False):
            lines.append(
                f"{_device(row)}: its energy counter ({row.counter_j:,.1f} J) and integrated power "
                f"({row.power_j:,.1f} J) disagree over its chunks by {row.unexplained_j:,.1f} J more than "
                f"the sensors' stated error ({ERROR}) and the integration's allow, and the counter neither "
                "stopped nor jumped: one of the two is wrong (an edited chunk, or a sensor far outside "
                "its stated error) and which cannot be told")
    return lines


ERROR = f"±{POWER_TOLERANCE_REL:.0%} ±{POWER_TOLERANCE_W:g} W"


def _device(row) -> str:
    return f"{row.node}/{row.device} ({row.domain})"


def _disputed(frame: pd.DataFrame, which: pd.Series) -> pd.DataFrame:
    if "disputed_windows" not in frame:
        return frame.iloc[:0]
    return frame[(frame["disputed_windows"] > 0) & which]


def shared_devices(nodes: Sequence) -> list[str]:
    """A device whose samples sit in two nodes' files over the same time (a chunk copied under
    another node's name and altered, so its hash differs): its energy would count twice."""
    spans: dict[tuple[str, str, str], list[tuple[float, float, str]]] = {}
    for node in nodes:
        for curve in node.devices:
            if len(curve.time_s):
                key = (curve.node, curve.device, curve.domain)
                spans.setdefault(key, []).append((float(curve.time_s[0]), float(curve.time_s[-1]), node.node))
    lines = []
    for (node, device, domain), items in spans.items():
        items.sort()
        for (_, end, first), (later, _, second) in zip(items, items[1:], strict=False):
            if later < end and first != second:
                lines.append(f"{node}/{device} ({domain}): samples over the same time in the chunks of "
                             f"{first} and of {second} (a copied chunk?): counted twice; remove the copy")
                break
    return lines


def repaired(checks: Sequence[pd.DataFrame]) -> bool:
    return any(bool((frame["repaired_windows"] > 0).any()) for frame in checks)


def checked_steps(steps: pd.DataFrame, total_j: float, counter_repaired: bool,
                  curves: Sequence[EnergyCurve] = ()) -> tuple[pd.DataFrame, list[str]]:
    """Steps whose recorded window energies can be trusted; else without them (read off the curves).

    The recorded energies come from the same sensors as the telemetry: together they cannot exceed
    the run's total beyond the sensors' error (a finding: an edited steps.csv). Where they exceed it
    at all, or the counter they were read from was repaired, the curves give the windows instead,
    so no share exceeds 100 % and `outside` is never negative. Each phase's recorded sum is also
    held against what the curves allow for its windows, in both directions (phase_findings).
    """
    if steps.empty or STEPS_ENERGY not in steps:
        return steps, []
    recorded = pd.to_numeric(steps[STEPS_ENERGY], errors="coerce").to_numpy(float)
    usable = np.isfinite(recorded) & (recorded >= 0)
    with np.errstate(over="ignore"):  # cells near 1e308 add up to inf: still "more than the total"
        recorded_j = float(recorded[usable].sum())
    duration_s = float(np.nansum(steps["time_end_s"].to_numpy(float) - steps["time_start_s"].to_numpy(float)))
    allowed_j = POWER_TOLERANCE_REL * total_j + POWER_TOLERANCE_W * duration_s
    findings = negative_findings(steps, recorded)
    if recorded_j > total_j + allowed_j:
        ratio = recorded_j / max(total_j, 1e-12)
        findings.append(f"steps.csv: the windows' recorded energy_j adds up to {recorded_j:,.1f} J, more "
                        f"than the telemetry's {total_j:,.1f} J for the whole run ({ratio:.1f}x); the "
                        "windows' energy is read off the telemetry instead (was steps.csv edited?)")
    elif not counter_repaired:
        findings += phase_findings(curves, steps, recorded)
    if findings or counter_repaired or recorded_j > total_j * (1 + 1e-9):
        return steps.drop(columns=[STEPS_ENERGY]), findings
    return steps, findings


def checked_tokens(steps: pd.DataFrame, tokens_per_step: float | None) -> tuple[pd.DataFrame, list[str]]:
    """The last attempt's train rows against config.yaml's batch x sequence length (what the
    trainer writes in each, record_tokens_per_step): a row that differs was edited, and counts
    the config's tokens instead. Earlier attempts may have run another batch (a resume rewrites
    config.yaml) and are not judged; neither is a record of the user's own loop (no batch)."""
    if not tokens_per_step or steps.empty or "tokens" not in steps or "attempt" not in steps:
        return steps, []
    attempt = pd.to_numeric(steps["attempt"], errors="coerce").to_numpy(float)
    tokens = pd.to_numeric(steps["tokens"], errors="coerce").to_numpy(float)
    last = (steps["phase"] == "train").to_numpy() & (attempt == np.nanmax(attempt)) & np.isfinite(tokens)
    off = last & (tokens != tokens_per_step)
    if not off.any():
        return steps, []
    first = int(np.flatnonzero(off)[0])
    line = (f"steps.csv: {int(off.sum())} train row(s) of attempt {np.nanmax(attempt):g} carry tokens other "
            f"than config.yaml's batch x sequence length, {tokens_per_step:,.0f} a step (first: step "
            f"{steps['step'].iloc[first]:.0f}, {tokens[first]:,.0f}); they count {tokens_per_step:,.0f} "
            "(was steps.csv edited?)")
    steps = steps.copy()
    steps.loc[off, "tokens"] = tokens_per_step
    return steps, [line]


def negative_findings(steps: pd.DataFrame, recorded: np.ndarray) -> list[str]:
    """An energy is never negative: a window whose recorded energy_j is below zero was edited."""
    negative = np.flatnonzero(recorded < 0)
    if not len(negative):
        return []
    first = steps.iloc[int(negative[0])]
    where = f"step {first['step']}" if "step" in steps else f"row {int(negative[0]) + 1}"
    return [f"steps.csv: {len(negative)} window(s) with a negative energy_j (first: {where}, "
            f"{recorded[negative[0]]:,.1f} J); the windows' energy is read off the telemetry instead "
            "(was steps.csv edited?)"]


def shares_findings(phases_j: dict[str, float], total_j: float) -> list[str]:
    """A last guard: a phase outside [0, 100] % of the total is a finding (never expected)."""
    bad = {k: v for k, v in phases_j.items() if v < -1e-9 * max(total_j, 1.0) or v > total_j * (1 + 1e-9)}
    return [f"phase {k}: {v:,.1f} J of {total_j:,.1f} J is outside [0, 100] % of the run"
            for k, v in bad.items()]


def phase_bounds_j(curves: Sequence[EnergyCurve], start_s: np.ndarray,
                   end_s: np.ndarray) -> tuple[float, float]:
    """The least and most energy the curves allow inside the windows (overlaps counted once).

    A timeline curve is exact at its knots (every bucket edge, the first and last sample) and
    linear between them; the energy inside a segment (a bucket) is E >= 0, spent somehow within
    it. A segment the windows cover whole gives exactly E; one they miss gives 0. One they cover
    in part gives E less what the rest of the segment can have held: at least E - (seconds
    outside the windows) x the most power the domain drew there, at most E - (seconds outside)
    x the least (summaries/bounds.py: ceiling_w, floor_w, wide where the samples say little),
    within [0, E]. Summing these over the segments bounds the windows' true energy with no
    assumption about where in a bucket the power went, so honest records never fall outside
    (beyond the sensors' error); and a phase sharing every bucket with short evals is still
    bounded to within the evals' seconds.
    """
    low = high = 0.0
    covered_below = covered_before(start_s, end_s)
    for curve in curves:
        if len(curve.time_s) < 2:
            continue
        energy = np.diff(curve.cumulative_j)
        width = np.diff(curve.time_s)
        covered = np.diff(covered_below(curve.time_s))
        whole = covered >= width * (1 - 1e-9) - 1e-9
        some = covered > 1e-9 * np.maximum(width, 1.0)
        least, most = _segment_bounds_j(curve, energy, np.clip(width - covered, 0.0, None))
        low += float(np.where(whole, energy, np.where(some, least, 0.0)).sum())
        high += float(np.where(whole, energy, np.where(some, most, 0.0)).sum())
    return low, high


def _segment_bounds_j(curve: EnergyCurve, energy: np.ndarray,
                      outside_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per segment: the least and most of its energy inside the windows, given `outside_s`
    seconds of it outside them (the whole [0, E] where the curve has no power bounds)."""
    count = len(energy)
    ceiling = curve.ceiling_w if curve.ceiling_w is not None and len(curve.ceiling_w) == count \
        else np.full(count, np.inf)
    floor = curve.floor_w if curve.floor_w is not None and len(curve.floor_w) == count else np.zeros(count)
    with np.errstate(invalid="ignore", over="ignore"):
        held_outside_max = np.where(outside_s > 0, outside_s * ceiling, 0.0)
        held_outside_min = np.where(outside_s > 0, outside_s * np.nan_to_num(floor), 0.0)
    least = np.clip(energy - np.nan_to_num(held_outside_max, nan=np.inf), 0.0, energy)
    most = np.clip(energy - held_outside_min, 0.0, energy)
    return least, most


def phase_findings(curves: Sequence[EnergyCurve], steps: pd.DataFrame, recorded: np.ndarray) -> list[str]:
    """A phase whose recorded energy_j sum lies outside what the telemetry allows for its windows
    (phase_bounds_j) beyond the sensors' error (the counter check's POWER_TOLERANCE_REL of the
    most allowed, POWER_TOLERANCE_W over the windows' time): steps.csv was edited, down or up.
    Compared per phase, not per window: a phase's windows cover whole buckets where a window
    alone rarely does, so the bound is tight enough to see an edit, and provable either way."""
    clipped = "overlap_s" in steps and bool((steps["overlap_s"].to_numpy(float) > 0).any())
    if not curves or clipped:
        return []  # overlapping windows: the curves give every window already
    start, end = steps["time_start_s"].to_numpy(float), steps["time_end_s"].to_numpy(float)
    phases = steps["phase"].astype(str).to_numpy() if "phase" in steps else np.full(len(steps), "train")
    # Only rows with an energy are held against the telemetry over their own windows: the bound
    # holds for any subset of windows, so one blanked cell cannot hide an edit of the others.
    has_energy = np.isfinite(recorded) & (recorded >= 0) & np.isfinite(start) & np.isfinite(end)
    lines = []
    for phase in sorted(set(phases[has_energy])):
        mine = has_energy & (phases == phase)
        low, high = phase_bounds_j(curves, start[mine], end[mine])
        recorded_j = float(recorded[mine].sum())
        allowed_j = POWER_TOLERANCE_REL * high + POWER_TOLERANCE_W * float((end[mine] - start[mine]).sum())
        if low - allowed_j <= recorded_j <= high + allowed_j:
            continue
        telemetry = f"{low:,.1f} J" if high - low < 1e-9 * max(high, 1.0) else f"{low:,.1f} to {high:,.1f} J"
        lines.append(f"steps.csv: the {phase} windows' recorded energy_j adds up to {recorded_j:,.1f} J, "
                     f"but the telemetry over the same windows gives {telemetry}; the windows' energy is "
                     "read off the telemetry instead (was steps.csv edited?)")
    return lines
