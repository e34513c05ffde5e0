"""The step file, steps.csv: one row per optimizer step or phase window, appended."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from olmo_green.record.csvfile import read_csv_tolerant
from olmo_green.record.layout import STEPS_FILE

# Step columns. `phase` is "train" for an optimizer step; other windows
# ("eval", "checkpoint", "idle") are rows of their own that carry the step they follow.
# `attempt` numbers the processes that wrote the file: 0 for the first, one more per resume
# (see superseded_steps). `mfu` is a train row's model FLOPs utilisation over its own window
# (window_mfu), empty where unknown: a CPU run, a loop that gives no FLOPs, a record from before
# the column. It is not among STEP_NUMBERS: a bad `mfu` cell must not drop the row's energy, so
# it stays as written and the report checks it (reports/efficiency.py, checks.py's "mfu" rule).
STEP_COLUMNS = ["step", "time_start_s", "time_end_s", "tokens", "loss", "lr", "energy_j", "phase", "attempt",
                "mfu"]
STEP_NUMBERS = ["step", "time_start_s", "time_end_s", "tokens", "loss", "lr", "energy_j", "attempt"]
# What a training loop passes with a train row (in its step metrics) for the row's `mfu`.
MFU_INPUTS = ("flops_per_token", "peak_flops_per_device", "world_size")
# Cells whose garbage (text, inf) empties the cell, not the row: a row's window, step, attempt
# and tokens stand without them (a dropped row would take its tokens out of energy per token).
CELL_ONLY = ("energy_j", "loss", "lr")
MAX_STEP_TOKENS = 1e10  # tokens in one step: 2,500x OLMo 7B's 4M-token batches is no step


def read_steps(run_dir: str | Path) -> pd.DataFrame:
    """The step file of a run: one row per optimizer step or phase window.

    Every column of STEP_COLUMNS is there (missing ones are empty; a file from before
    the `attempt` column reads as attempt 0 throughout), numbers are numbers. Garbage
    rows are dropped and counted in `steps.attrs["dropped_rows"]`: the report and the
    dashboard read steps here, so both drop and count the same rows (see
    reports/steps.py, steps_notes). A row is garbage if it does not parse (too many
    fields, a torn line), holds text where a number belongs, has no step number, a
    negative or absurd token count, a window that ends before it starts, or an
    infinite value; text or inf in a CELL_ONLY column empties that cell instead, counted
    in `steps.attrs["garbage_cells"]`. An empty cell is not garbage: it is unknown.
    """
    path = Path(run_dir) / STEPS_FILE
    if not path.exists():
        steps = pd.DataFrame(columns=STEP_COLUMNS)
        steps.attrs["dropped_rows"] = 0
        return steps
    steps = read_csv_tolerant(path, STEP_COLUMNS)
    bad_rows = steps.attrs.get("bad_rows", 0)
    for column in STEP_COLUMNS:
        if column not in steps:
            steps[column] = pd.NA if column == "phase" else math.nan
    garbage = pd.Series(False, index=steps.index)
    garbage_cells = 0
    for column in STEP_NUMBERS:
        raw = steps[column]
        numbers = pd.to_numeric(raw, errors="coerce")
        text = raw.notna() & numbers.isna()
        wrong = text | numbers.isin([math.inf, -math.inf])
        if column in CELL_ONLY:  # the row's window and tokens still stand: only the cell is unknown
            # A diverged loss (or its lr) is written as inf by an honest trainer: unknown, not a lie.
            garbage_cells += int((text if column != "energy_j" else wrong).sum())
            numbers = numbers.mask(wrong)
        else:
            garbage |= wrong
        steps[column] = numbers.astype(float)
    tokens, start, end = steps["tokens"], steps["time_start_s"], steps["time_end_s"]
    step = steps["step"]
    garbage |= step.isna() | (step < 0) | (step % 1 != 0)
    garbage |= (tokens < 0) | (tokens > MAX_STEP_TOKENS) | (end < start)
    steps = steps.loc[~garbage, STEP_COLUMNS].reset_index(drop=True)
    steps["attempt"] = steps["attempt"].fillna(0).astype(int)
    steps["phase"] = steps["phase"].astype("string").fillna("train")  # a window's phase defaults to train
    steps.attrs["dropped_rows"] = int(bad_rows + garbage.sum())
    steps.attrs["garbage_cells"] = garbage_cells
    steps.attrs["garbage_rows"] = int(garbage.sum())  # parsed, but a value no writer gives (not a torn line)
    return steps


def mfu(tokens_per_s: float, flops_token: float, peak_flops_per_device: float | None,
        world_size: int) -> float | None:
    """Model FLOPs utilisation, or None where the device's peak is unknown (CPU).

    The one formula (model/metrics.py re-exports it for the trainer's live figure):
    tokens/s x training FLOPs per token / (peak FLOP/s per device x devices).
    """
    if not peak_flops_per_device:
        return None
    return tokens_per_s * flops_token / (peak_flops_per_device * world_size)


def window_mfu(row: Mapping) -> float | None:
    """The `mfu` cell of a step row: its tokens over its own window (time_end_s - time_start_s).

    None unless it is a train row with tokens, a window of some length and the MFU_INPUTS
    (a loop that gives no FLOPs or peak, a CPU run, an eval or checkpoint window).
    """
    flops_token, peak, devices = (row.get(key) for key in MFU_INPUTS)
    tokens, start, end = row.get("tokens"), row.get("time_start_s"), row.get("time_end_s")
    if row.get("phase") != "train" or None in (flops_token, devices, tokens, start, end):
        return None
    seconds = float(end) - float(start)
    if not tokens or seconds <= 0:
        return None
    return mfu(float(tokens) / seconds, float(flops_token), peak, int(devices))


def superseded_steps(steps: pd.DataFrame) -> pd.Series:
    """True for the rows of steps a later attempt redid.

    An attempt resumed from the checkpoint at step S trains steps S+1, S+2, ...:
    S is one less than its first train step. A row of an earlier attempt with a
    step after S was redone (the model state it belonged to was rolled back). Its
    energy was really spent, so it still counts as energy; its tokens are not
    counted twice. An attempt with no train row redid nothing.
    """
    if steps.empty or "attempt" not in steps or "step" not in steps:
        return pd.Series(False, index=steps.index)
    attempt = pd.to_numeric(steps["attempt"], errors="coerce").fillna(0).to_numpy(int)
    step = pd.to_numeric(steps["step"], errors="coerce").to_numpy(float)
    train = (steps["phase"] == "train").to_numpy()
    resumed_from: dict[int, float] = {}
    for a, s in zip(attempt[train], step[train], strict=True):
        resumed_from[a] = min(resumed_from.get(a, math.inf), s - 1)
    # For each attempt: the earliest resume point of any later attempt.
    later_min, running = {}, math.inf
    for a in sorted(set(attempt.tolist()), reverse=True):
        later_min[a] = running
        running = min(running, resumed_from.get(a, math.inf))
    limit = [later_min[a] for a in attempt]
    return pd.Series(step > limit, index=steps.index)

