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

What this cannot catch: every judged cell of an attempt scaled by one factor, or an attempt with
a single judged row (an honest resume killed after one step; or an edited `attempt` cell that puts
the row alone), since the constant is only compared within an attempt; and a cell edited together
with its row's tokens or window in proportion (the row then agrees with itself). Catching the
first needs the expected constant itself: the model's FLOPs per token (config.yaml's
resolved_model and sequence length), the peak (config.yaml's resolved_hardware) and each
attempt's world size, which no part of the record holds (the telemetry's GPU count is not it: a
node's sampler reads every GPU it sees, used or not, and the attempts of a resume on fewer GPUs
share one telemetry folder).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TOLERANCE_REL = 1e-3
NAMED_STEPS = 5  # steps named per attempt in a finding; the rest are counted


def mfu_findings(steps: pd.DataFrame) -> list[str]:
    """One line per attempt whose train rows' mfu disagree with their tokens and windows.

    `steps` as reports.steps.clean_steps gives them (`superseded` and `overlap_s` columns).
    """
    judged = _judged(steps)
    if judged is None:
        return []
    attempt, step, constant, slack = judged
    order = np.argsort(attempt, kind="stable")
    attempt, step, constant, slack = attempt[order], step[order], constant[order], slack[order]
    starts = np.r_[0, np.flatnonzero(np.diff(attempt)) + 1]
    lines = []
    for begin, end in zip(starts, np.r_[starts[1:], len(attempt)], strict=True):
        median = float(np.median(constant[begin:end]))
        off = np.abs(constant[begin:end] / median - 1.0) > slack[begin:end]
        if off.any():
            lines.append(_line(attempt[begin], step[begin:end][off], int(end - begin)))
    return lines


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
