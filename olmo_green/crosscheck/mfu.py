"""steps.csv's `mfu` cells against the rows' own tokens and windows.

The trainer's writer computes a train row's `mfu` from that row alone (record.window_mfu):

    mfu = tokens / (time_end_s - time_start_s) x FLOPs per token / (peak FLOP/s x devices)

so mfu x seconds / tokens is FLOPs per token / (peak x devices): one constant for every train
row of an attempt (one process: its model, world size and peak never change). A cell edited to
another plausible value (0.3 to 0.999) passes checks.py's (0, 1] rule but not this constant.

Precision: linelog writes every float with repr, which reads back to the same double, and a
window's seconds is the difference of two doubles of one magnitude (exact, Sterbenz), so an
honest row's constant differs from its attempt's by a few roundings (~1e-15). The tolerance is
far wider: TOLERANCE_REL, and a window's ends known only to one unit in their last place
(np.spacing) over its length, so even a microsecond window at UNIX times is never flagged. What
passes the tolerance moves the run's MFU (a train-seconds-weighted mean) by at most about
TOLERANCE_REL of itself: a row's weight in that mean is its seconds, and the spacing term only
widens for windows too short to weigh.

The expected constant itself is FLOPs per token / (peak x world size). config.yaml holds the
model, sequence length and peak of the last attempt (each resume rewrites it), and no part of
the record holds the world size (the telemetry's GPU count is not it: a node's sampler reads
every GPU it sees, used or not). So the last attempt's constant must imply a whole world size
of at least 1 (world_size_findings): that catches a row edited alone into a new last attempt,
and any raise of a whole last attempt past its world size. Attempts must also follow each other
in time (attempt_order_findings), so a row cannot be moved into an earlier attempt unseen.

What this cannot catch: every judged cell of an earlier attempt scaled by one factor, or such an
attempt with a single judged row; the last attempt scaled by a factor that still implies a whole
number (from 4 devices to 2, or anything once the implied size is in the hundreds); and a cell
edited together with its row's tokens or window in proportion (the row then agrees with itself).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from olmo_green import checks
from olmo_green.errors import ConfigError

TOLERANCE_REL = 1e-3
NAMED_STEPS = 5  # steps named per attempt in a finding; the rest are counted


def mfu_findings(steps: pd.DataFrame, flops_per_peak: float | None = None) -> list[str]:
    """One line per attempt whose train rows' mfu disagree with their tokens and windows; one for
    cells the report refuses outright; one for attempts out of time order; and, given
    `flops_per_peak` (FLOPs per token / peak FLOP/s per device, from config.yaml), one where the
    last attempt's constant implies no whole number of devices (world_size_findings).

    `steps` as reports.steps.clean_steps gives them (`superseded` and `overlap_s` columns).
    """
    lines = refused_cells(steps) + attempt_order_findings(steps)
    judged = _judged(steps)
    if judged is None:
        return lines
    attempt, step, constant, slack = judged
    order = np.argsort(attempt, kind="stable")
    attempt, step, constant, slack = attempt[order], step[order], constant[order], slack[order]
    starts = np.r_[0, np.flatnonzero(np.diff(attempt)) + 1]
    for begin, end in zip(starts, np.r_[starts[1:], len(attempt)], strict=True):
        median = float(np.median(constant[begin:end]))
        off = np.abs(constant[begin:end] / median - 1.0) > slack[begin:end]
        if off.any():
            lines.append(_line(attempt[begin], step[begin:end][off], int(end - begin)))
    if flops_per_peak:
        last = starts[-1]
        lines += world_size_findings(attempt[last], float(np.median(constant[last:])), flops_per_peak)
    return lines


def refused_cells(steps: pd.DataFrame) -> list[str]:
    """The first current train cell that checks.py's "mfu" rule refuses (text, 0, negative, inf,
    above 1), as the report's mfu_note names it: the report gives no MFU, and --verify fails."""
    if steps.empty or "mfu" not in steps:
        return []
    current = (steps["phase"] == "train").to_numpy() & ~pd.isna(steps["mfu"]).to_numpy()
    if "superseded" in steps:
        current &= ~steps["superseded"].to_numpy(bool)
    if not current.any():
        return []
    rows = steps[current]
    step = rows["step"].to_numpy()
    try:
        checks.check_column(rows["mfu"], "mfu", lambda i: f"steps.csv step {step[i]:.0f}: mfu")
    except ConfigError as refused:
        return [f"{refused} (the report gives no MFU)"]
    return []


def attempt_order_findings(steps: pd.DataFrame) -> list[str]:
    """Attempts follow each other in time (each writer appends after the last, resumed later):
    a row that starts after a row of a later attempt carries an edited `attempt` cell."""
    if steps.empty or "attempt" not in steps:
        return []
    attempt = pd.to_numeric(steps["attempt"], errors="coerce").to_numpy(float)
    start = steps["time_start_s"].to_numpy(float)
    known = np.isfinite(attempt) & np.isfinite(start)
    order = np.argsort(start[known], kind="stable")
    attempt, step = attempt[known][order], steps["step"].to_numpy(float)[known][order]
    later_max = np.maximum.accumulate(attempt) if len(attempt) else attempt
    back = np.flatnonzero(attempt < later_max)
    if not len(back):
        return []
    first = back[0]
    return [f"steps.csv step {step[first]:.0f}: attempt {attempt[first]:g} starts after a row of attempt "
            f"{later_max[first]:g} ({len(back)} row(s) out of order): attempts follow each other in "
            "time, so an `attempt` cell was edited; restore steps.csv from a copy"]


def world_size_findings(attempt: float, constant: float, flops_per_peak: float) -> list[str]:
    """The last attempt's constant is FLOPs per token / (peak x world size): with config.yaml's
    model, sequence length and peak it implies the world size, a whole number of at least 1. A
    row edited alone into an attempt of its own (the one case the per-attempt comparison cannot
    see) implies none. Only the last attempt: config.yaml is rewritten by each resume, so an
    earlier attempt may have run another model or profile. Blind where the implied size is large
    (every number is within 0.5 of a whole one), but a raised cell lowers the implied size."""
    world_size = flops_per_peak / constant
    whole = round(world_size)
    if whole >= 1 and abs(world_size - whole) <= TOLERANCE_REL * world_size:
        return []
    return [f"steps.csv attempt {attempt:g}: its mfu cells imply {world_size:.4g} devices (config.yaml's "
            "model FLOPs per token over its profile's peak, divided by mfu x seconds / tokens), not a "
            "whole number: an edited cell; restore steps.csv from a copy, and until then the report "
            "gives no MFU"]


def _judged(steps: pd.DataFrame) -> tuple[np.ndarray, ...] | None:
    """Attempt, step, mfu x seconds / tokens and relative slack of the rows that can be judged.

    Left out: eval, checkpoint and idle rows (the writer gives them no mfu); rows of steps a
    later attempt redid (superseded: no figure reads them, and which attempt's constant they
    share is the one thing an edited `attempt` cell would confuse); rows without tokens or with
    a zero-length window (no mfu can be written for them, so there is nothing to compare); and
    cells that are not a positive finite number (run_mfu names those through checks.py).
    """
    if steps.empty or "mfu" not in steps:
        return None
    mfu = pd.to_numeric(steps["mfu"], errors="coerce").to_numpy(float)
    tokens = pd.to_numeric(steps["tokens"], errors="coerce").to_numpy(float)
    end = steps["time_end_s"].to_numpy(float)
    # the window the writer saw: clean_steps clips a start that overlaps an earlier row
    start = steps["time_start_s"].to_numpy(float)
    if "overlap_s" in steps:
        start = start - steps["overlap_s"].to_numpy(float)
    seconds = end - start
    keep = (steps["phase"] == "train").to_numpy() & np.isfinite(mfu) & (mfu > 0)
    keep &= np.isfinite(tokens) & (tokens > 0) & (seconds > 0)
    if "superseded" in steps:
        keep &= ~steps["superseded"].to_numpy(bool)
    if not keep.any():
        return None
    start, end, seconds = start[keep], end[keep], seconds[keep]
    # read_steps gives whole numbers; a frame from elsewhere may not: any value groups its rows
    attempt = pd.to_numeric(steps["attempt"], errors="coerce").fillna(0).to_numpy(float)[keep] \
        if "attempt" in steps else np.zeros(int(keep.sum()))
    slack = np.maximum(TOLERANCE_REL, (np.spacing(np.abs(start)) + np.spacing(np.abs(end))) / seconds)
    return (attempt, steps["step"].to_numpy(float)[keep],
            mfu[keep] * seconds / tokens[keep], slack)


def _line(attempt: float, steps: np.ndarray, judged: int) -> str:
    named = ", ".join(f"{s:.0f}" for s in steps[:NAMED_STEPS])
    more = f" and {len(steps) - NAMED_STEPS} more" if len(steps) > NAMED_STEPS else ""
    noun = "step" if len(steps) == 1 else "steps"
    return (f"steps.csv {noun} {named}{more} (attempt {attempt:g}): mfu disagrees with the row's "
            f"tokens and window by more than {TOLERANCE_REL:.1%} (the trainer writes mfu x seconds / "
            f"tokens as one constant per attempt; here the median of its {judged} train rows): an edited "
            "cell; restore steps.csv from a copy, and until then the report gives no MFU")
