"""Whether two runs' readings of one device name, over one time, are one physical device's.

Names do not say it: nvml and amdsmi name a GPU by its index among the job's visible ones,
so two jobs sharing a node both hold a device "0", and two clusters may both have a "node0".
The readings do: a physical device's energy counter is one curve, so two runs reading it
give readings that, merged by time, climb as one counter does; two devices' counters (each
since its own driver load) interleave up and down. Without counters on both sides, power
read at about the same instants agrees within the sensors' stated error for one device and
rises and falls together; two devices under their own loads do not follow each other. Power
that never varies and reads alike cannot tell: taken as one device (refused).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from olmo_green.crosscheck.counter import POWER_TOLERANCE_REL, POWER_TOLERANCE_W

AGREEING = 0.9  # of the power readings matched in time: one device reads alike nearly always
# Two independent devices' readings differ by sqrt(2) times what each varies; one device's by
# little more than what a reading moves in the instants between the two runs' reads.
TRACKING = 0.5
SAME = 0.1  # of the sensors' error: the typical difference of two reads of one sensor's value
FEWEST = 3  # readings below which nothing tells two devices apart: taken as one (refused)


def one_device(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """True where the readings (time_s, power_w, energy_j) may be one device's."""
    a_counter, b_counter = (_readings(s, "energy_j") for s in (a, b))
    if len(a_counter) >= FEWEST and len(b_counter) >= FEWEST:
        merged = pd.concat([a_counter, b_counter]).sort_values("time_s", kind="stable")
        return _drops(merged) <= _drops(a_counter) + _drops(b_counter)
    return _power_agrees(a, b)


def _readings(samples: pd.DataFrame, column: str) -> pd.DataFrame:
    return samples.dropna(subset=[column]).sort_values("time_s", kind="stable")


def _drops(samples: pd.DataFrame) -> int:
    """Times a counter goes down, beyond a reading's rounding (1 J, or a millionth of it)."""
    energy_j = samples["energy_j"].to_numpy(dtype=float)
    slack_j = np.maximum(1.0, 1e-6 * np.abs(energy_j[1:]))
    return int((np.diff(energy_j) < -slack_j).sum())


def _power_agrees(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Power of each reading of `a` against `b`'s nearest in time (within a sampling period)."""
    a, b = (_readings(s, "power_w") for s in (a, b))
    if len(a) < FEWEST or len(b) < FEWEST:
        return True
    period_s = max(float(np.median(np.diff(s["time_s"].to_numpy()))) for s in (a, b))
    pairs = pd.merge_asof(a[["time_s", "power_w"]], b[["time_s", "power_w"]], on="time_s",
                          direction="nearest", tolerance=period_s, suffixes=("_a", "_b")).dropna()
    if len(pairs) < FEWEST:
        return True
    mine, theirs = pairs["power_w_a"], pairs["power_w_b"]
    allowed_w = POWER_TOLERANCE_REL * np.maximum(mine, theirs) + POWER_TOLERANCE_W
    close = (mine - theirs).abs() <= allowed_w
    # Devices at like loads read alike (CPUs idling at 60-70 W), so agreeing is not enough: one
    # device's readings are mostly the same value (read within one sensor update), or rise and
    # fall together; two devices' differ by more than each varies.
    same = (mine - theirs).abs().median() <= SAME * allowed_w.median()
    spread_w = min(mine.std(), theirs.std())
    together = spread_w > 0 and (mine - theirs).std() <= TRACKING * spread_w
    return bool(close.mean() >= AGREEING and (same or together))
