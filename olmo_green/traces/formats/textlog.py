"""Line-by-line logs (dcgmi dmon, amd-smi, rocm-smi): time lines, and rows gathered into batches.

These tools print tables for a terminal, with headers repeated and no time of
their own (dcgmi dmon, rocm-smi, amd-smi without --watch). A cluster log gets
its time from the loop that writes it; two ways are read (docs/formats/):

- a time line before each call's block: `date +%s.%N` (UNIX seconds) or
  `date --iso-8601=ns` (with its offset);
- a time before each line, as `ts %.s` (moreutils) writes it: `1722038010.123456 GPU 0 ...`.

dcgmi dmon rows are parsed in Python, about 10 us a row (1 M rows, a 2-core
machine), so 8 GPUs at 100 ms for 11 days (76 M rows) take minutes; amd-smi and
rocm-smi rows go through Arrow (csvblocks.py, 1 M rows in about 7 s), the
nvidia-smi and record CSVs wholly (2 M rows in about 2.5 s).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green.traces.formats.common import NA_TEXT, fail, parse_tz, text_lines

GARBAGE_LINES = 100_000  # a header followed by this many lines and no row is no log: stop reading
_EPOCH = re.compile(r"^\d{9,10}(?:\.\d+)?$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?$")


def parse_time(text: str, tz_text: str) -> float | None:
    """UNIX seconds from `date +%s.%N` or an ISO 8601 time (naive ones in --trace-tz); None if neither."""
    text = text.strip()
    if _EPOCH.match(text):
        return float(text)
    if not _ISO.match(text):
        return None
    try:
        stamp = pd.Timestamp(text.replace(",", "."))
        if stamp.tzinfo is None:
            stamp = stamp.tz_localize(parse_tz(tz_text))
    except (ValueError, TypeError):  # a time the zone skips or repeats (daylight saving)
        return None
    return stamp.as_unit("ns").value / 1e9


def is_na(text: str) -> bool:
    text = text.strip()
    return text in NA_TEXT or text.startswith("N/A")


def number(text: str, unit: str = "") -> tuple[float, bool]:
    """(value, was N/A); NaN and False where the text is no number."""
    text = text.strip()
    if is_na(text):
        return np.nan, True
    if unit and text.endswith(unit):
        text = text[: -len(unit)].strip()
    try:
        return float(text), False
    except ValueError:
        return np.nan, False


class TimeLines:
    """The time of the rows from time lines. A time line holds for the block it precedes: a header
    with none before it (a repeated header of a continuous run) ends the last one's reach, so no
    row takes a stale time."""

    def __init__(self) -> None:
        self.time_s: float | None = None
        self.timed = False  # a time line came since the last header

    def time_line(self, time_s: float) -> None:
        self.time_s, self.timed = time_s, True

    def header_seen(self) -> None:
        if not self.timed:
            self.time_s = None
        self.timed = False


class Rows:
    """Parsed rows gathered column by column until a batch is full."""

    COLUMNS = ("time_s", "device", "power_w", "energy_j", "power_na", "line")

    def __init__(self) -> None:
        self.line = 0  # the file line being parsed (1-based): each row added carries it
        self.clear()

    def clear(self) -> None:
        self.data: dict[str, list] = {c: [] for c in self.COLUMNS}

    def add(self, time_s: float, device: str, power_w: float, energy_j: float, power_na: bool) -> None:
        values = (time_s, device, power_w, energy_j, power_na, self.line)
        for column, value in zip(self.COLUMNS, values, strict=True):
            self.data[column].append(value)

    def __len__(self) -> int:
        return len(self.data["time_s"])

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame({c: np.asarray(v) if c != "device" else np.asarray(v, dtype=object)
                              for c, v in self.data.items()})
        self.clear()
        return frame


def batches(path: Path, stats, batch_rows: int, parse: Callable[[str, Rows], None]) -> Iterator[pd.DataFrame]:
    """Frames of Rows from `parse(line, rows)` over the file's complete lines."""
    rows = Rows()
    found = False
    for number, line in enumerate(text_lines(path, stats), start=1):
        rows.line = number
        parse(line, rows)
        found = found or len(rows) > 0
        if not found and number >= GARBAGE_LINES:
            raise fail(path, None, f"no readable row in its first {GARBAGE_LINES:,} lines",
                       "check that the file is the log it looks like")
        if len(rows) >= batch_rows:
            yield rows.frame()
    if len(rows):
        yield rows.frame()
