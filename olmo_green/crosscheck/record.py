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

STEPS_ENERGY = "energy_j"


def counter_findings(checks: Sequence[pd.DataFrame]) -> list[str]:
    """One line per device whose counter disagreed with its power somewhere (repaired from power)."""
    lines = []
    for frame in checks:
        for row in frame[frame["repaired_windows"] > 0].itertuples(index=False):
            lines.append(
                f"{row.node}/{row.device} ({row.domain}): the energy counter disagrees with integrated power "
                f"beyond the sensors' stated error (±{POWER_TOLERANCE_REL:.0%} ±{POWER_TOLERANCE_W:g} W) in "
                f"{int(row.repaired_windows)} window(s), {row.repaired_s:,.1f} s: counter "
                f"{row.repaired_counter_j:,.1f} J, power {row.repaired_power_j:,.1f} J; power_integration "
                "used there (a counter that stopped, froze or turned to garbage)")
    return lines


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


def checked_steps(steps: pd.DataFrame, total_j: float,
                  counter_repaired: bool) -> tuple[pd.DataFrame, list[str]]:
    """Steps whose recorded window energies can be trusted; else without them (read off the curves).

    The recorded energies come from the same sensors as the telemetry: together they cannot exceed
    the run's total beyond the sensors' error (a finding: an edited steps.csv). Where they exceed it
    at all, or the counter they were read from was repaired, the curves give the windows instead,
    so no share exceeds 100 % and `outside` is never negative.
    """
    if steps.empty or STEPS_ENERGY not in steps:
        return steps, []
    recorded = pd.to_numeric(steps[STEPS_ENERGY], errors="coerce").to_numpy(float)
    usable = np.isfinite(recorded) & (recorded >= 0)
    recorded_j = float(recorded[usable].sum())
    duration_s = float(np.nansum(steps["time_end_s"].to_numpy(float) - steps["time_start_s"].to_numpy(float)))
    allowed_j = POWER_TOLERANCE_REL * total_j + POWER_TOLERANCE_W * duration_s
    findings = []
    if recorded_j > total_j + allowed_j:
        ratio = recorded_j / max(total_j, 1e-12)
        findings.append(f"steps.csv: the windows' recorded energy_j adds up to {recorded_j:,.1f} J, more "
                        f"than the telemetry's {total_j:,.1f} J for the whole run ({ratio:.1f}x); the "
                        "windows' energy is read off the telemetry instead (was steps.csv edited?)")
    if findings or counter_repaired or recorded_j > total_j * (1 + 1e-9):
        return steps.drop(columns=[STEPS_ENERGY]), findings
    return steps, findings


def shares_findings(phases_j: dict[str, float], total_j: float) -> list[str]:
    """A last guard: a phase outside [0, 100] % of the total is a finding (never expected)."""
    bad = {k: v for k, v in phases_j.items() if v < -1e-9 * max(total_j, 1.0) or v > total_j * (1 + 1e-9)}
    return [f"phase {k}: {v:,.1f} J of {total_j:,.1f} J is outside [0, 100] % of the run"
            for k, v in bad.items()]
