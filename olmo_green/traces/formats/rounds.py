"""GPUs of a log without an index column: rows come in rounds of N GPUs, in index order.

`nvidia-smi --query-gpu=timestamp,power.draw --format=csv -lms 100` queries
every GPU back to back, prints one row each, then sleeps the interval: the
rows of one round share a timestamp or lie milliseconds apart, and rounds are
an interval apart. N is read from that pattern in the file's first rows:

- runs of rows with one timestamp, all of one length N ("equal" rounds);
- else gaps of two kinds, short inside a round and long between rounds (at
  least GAP_RATIO apart), the long ones every N rows ("gap" rounds);
- else evenly spaced rows: one GPU.

`--trace-devices N` overrides the inference; the pattern is still checked.
While reading, each round is checked against the pattern: a round that breaks it
(a GPU missing from a round, more GPUs than N) is counted, and a file where
that happens more than by chance (BROKEN_SHARE of its rounds, and more than
BROKEN_MIN) is refused: every device after the break would be another GPU's
curve. A last round cut short (the log stopped mid-round) is noted.
"""

from __future__ import annotations

import numpy as np

from olmo_green.traces.formats.common import fail

GAP_RATIO = 3.0  # long gaps (between rounds) at least this many times the short ones
BROKEN_SHARE = 0.01
BROKEN_MIN = 10
FIX = "log an index column (--query-gpu=timestamp,index,power.draw), or give --trace-devices N"


def infer(path, time_s: np.ndarray, devices: int | None, stats) -> tuple[int, str, float]:
    """(N, mode, threshold_s) from the first rows' times (UNIX s); notes what it found."""
    time_s = time_s[np.isfinite(time_s)]
    if len(time_s) < 3:
        return devices or 1, "gap", np.inf
    gaps = np.diff(time_s)
    if devices is not None:
        mode, threshold = _check_given(path, gaps, devices)
        stats.note(f"no index column: {devices} GPU(s) per round, as --trace-devices says")
        return devices, mode, threshold
    if (gaps == 0).any():
        n = _equal_runs(path, time_s)
        stats.note(f"no index column: {n} GPU(s) per round, inferred from rows sharing a timestamp "
                   "(GPU 0 first; --trace-devices sets it)")
        return n, "equal", 0.0
    n, threshold = _gap_rounds(path, gaps)
    what = "rows evenly spaced" if n == 1 else "short gaps inside rounds, long ones between"
    stats.note(f"no index column: {n} GPU(s) per round, inferred from the timestamps ({what}; "
               "GPU 0 first; --trace-devices sets it)")
    return n, "gap", threshold


def _equal_runs(path, time_s: np.ndarray) -> int:
    starts = np.flatnonzero(np.r_[True, time_s[1:] != time_s[:-1]])
    lengths = np.diff(starts)  # complete runs only: the last may be cut by the sample's end
    if len(lengths) and (lengths == lengths[0]).all():
        return int(lengths[0])
    raise fail(path, None, f"no index column, and rows sharing a timestamp come in runs of "
               f"{sorted(set(lengths.tolist()))[:5]} rows: the GPUs per round cannot be told", FIX)


def _gap_rounds(path, gaps: np.ndarray) -> tuple[int, float]:
    positive = np.sort(gaps[gaps > 0])
    if len(positive) < 2:
        return 1, np.inf
    ratios = positive[1:] / positive[:-1]
    k = int(np.argmax(ratios))
    if ratios[k] < GAP_RATIO:
        return 1, np.inf
    threshold = float(np.sqrt(positive[k] * positive[k + 1]))
    starts = np.r_[0, np.flatnonzero(gaps > threshold) + 1]
    spacing = np.diff(starts)
    if len(spacing) and (spacing == spacing[0]).all():
        return int(spacing[0]), threshold
    raise fail(path, None, "no index column, and the long gaps between rounds come every "
               f"{sorted(set(spacing.tolist()))[:5]} rows: the GPUs per round cannot be told", FIX)


def _check_given(path, gaps: np.ndarray, n: int) -> tuple[str, float]:
    if n == 1:
        return "gap", np.inf
    boundary = (np.arange(1, len(gaps) + 1) % n) == 0  # gap before row i+1 starts a round
    inside, between = gaps[~boundary], gaps[boundary]
    if not len(between) or not len(inside):
        return "gap", np.inf
    if (inside == 0).all() and (between > 0).all():
        return "equal", 0.0
    if inside.max() < between.min():
        return "gap", float(np.sqrt(max(inside.max(), 1e-6) * between.min()))
    raise fail(path, None, f"the timestamps of the first rows do not come in rounds of {n} GPUs", FIX)


class RoundCheck:
    """Devices of each row from its position, and the pattern checked as rows stream by."""

    def __init__(self, path, n: int, mode: str, threshold_s: float, stats, locate=None) -> None:
        self.path, self.n, self.mode, self.threshold_s, self.stats = path, n, mode, threshold_s, stats
        self.locate = locate  # row ordinal -> file line (formats/lines.csv_locator)
        self.rows = 0
        self.last_s = np.nan
        self.broken = 0

    def devices(self, count: int) -> np.ndarray:
        return (self.rows + np.arange(count)) % self.n

    def advance(self, time_s: np.ndarray) -> None:
        """Check the rows' times (NaN where unreadable) against the rounds; then count them."""
        position = (self.rows + np.arange(len(time_s))) % self.n
        gaps = np.diff(np.r_[self.last_s, time_s])
        if self.n > 1 and np.isfinite(self.threshold_s):
            with np.errstate(invalid="ignore"):
                starts = position == 0
                if self.mode == "equal":
                    bad = (starts & (gaps <= 0)) | (~starts & (gaps != 0) & np.isfinite(gaps))
                else:
                    bad = (starts & (gaps < self.threshold_s)) | (~starts & (gaps > self.threshold_s))
            self.broken += int(bad.sum())
            self._judge(int(np.flatnonzero(bad)[0]) if bad.any() else None)
        self.rows += len(time_s)
        finite = time_s[np.isfinite(time_s)]
        if len(finite):
            self.last_s = float(time_s[np.flatnonzero(np.isfinite(time_s))[-1]])

    def _judge(self, first_bad: int | None) -> None:
        rounds = max(self.rows // self.n, 1)
        if self.broken > BROKEN_MIN and self.broken > BROKEN_SHARE * rounds:
            ordinal = self.rows + (first_bad or 0)
            line = self.locate(ordinal) if self.locate is not None else None
            where = f"line {line}" if line else f"data row {ordinal + 1}"
            raise fail(self.path, line, f"the rows stop coming in rounds of {self.n} GPUs ({self.broken} "
                       f"breaks by {where}: a GPU missing from its rounds?)", FIX)

    def finish(self) -> None:
        if self.n > 1 and self.rows % self.n:  # a log stopped mid-round: its rows are still good
            self.stats.note(f"the last round has {self.rows % self.n} of {self.n} GPUs' rows (the log "
                            "stopped mid-round)")
        if self.broken:
            self.stats.note(f"{self.broken} row(s) off the {self.n}-GPU round pattern (a late query)")
