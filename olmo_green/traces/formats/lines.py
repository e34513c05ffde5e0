"""Which line of the file a row came from, so a refusal names FILE:LINE (1-based, headers and
blank or skipped lines counted) and a user can open the log there.

Line-by-line readers (dcgm, amd-smi, rocm-smi) know each row's line as they read it. The CSVs that
Arrow parses (nvidia-smi, record) give rows only: Arrow skips blank lines and lines with the wrong
number of fields without saying where (its InvalidRow.number is None in the streaming reader,
pyarrow 14-21), and it parses blocks ahead of the batch being checked. So those rows carry their
ordinal among the rows Arrow yielded, and a refusal finds the physical line by reading the file
again, skipping what Arrow skips (csv_locator). That costs one more pass, only on the way out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np

from olmo_green.traces.formats.common import MAX_LINE_CHARS, open_stream

Locate = Callable[[int], int]


class RowLines:
    """A batch's `line` column: file lines, or row ordinals that `locate` turns into file lines."""

    def __init__(self, values: np.ndarray, locate: Locate | None = None) -> None:
        self.values, self.locate = values, locate

    def __len__(self) -> int:
        return len(self.values)

    def raw(self, i: int) -> int:
        return int(self.values[i])

    def line(self, i: int) -> int:
        return self.resolve(self.raw(i))

    def resolve(self, raw: int) -> int:
        return self.locate(raw) if self.locate is not None else raw


def ordinals(stats, text) -> np.ndarray:
    """The ordinals of a frame Arrow just yielded (stats.rows_read already counts it)."""
    return stats.rows_read - len(text) + np.arange(len(text))


class _NoStats:
    """open_stream counts bytes and drops into a TraceStats; a second pass must not count twice."""

    bytes_done = 0

    def drop(self, *_: object) -> None:
        pass

    def note(self, *_: object) -> None:
        pass


def csv_locator(path: Path, header_lines: int, fields: int) -> Locate:
    """ordinal (0-based, among the rows Arrow parsed) -> the file line of that row."""

    def locate(ordinal: int) -> int:
        seen = -1
        with io.TextIOWrapper(open_stream(path, _NoStats()), encoding="utf-8-sig", errors="replace",
                              newline="") as f:
            for number, text in enumerate(_lines(f), start=1):
                if number <= header_lines or text in ("", "\r"):  # Arrow's ignore_empty_lines
                    continue
                if len(next(csv.reader([text]), [])) != fields:  # Arrow's invalid row: skipped
                    continue
                seen += 1
                if seen == ordinal:
                    return number
        return 0  # not found (the file changed under us): fail() then names the file alone

    return locate


def _lines(f) -> object:
    """Each line without its newline; an overlong one cut, as common.text_lines reads it."""
    while line := f.readline(MAX_LINE_CHARS):
        while not line.endswith("\n") and len(line) >= MAX_LINE_CHARS:
            more = f.readline(MAX_LINE_CHARS)
            if not more:
                break
            line = more
        yield line.rstrip("\n")
