"""Which line of the file a row came from, so a refusal names FILE:LINE (1-based, headers and
blank or skipped lines counted) and a user can open the log there.

Line-by-line readers (dcgm, amd-smi, rocm-smi) know each row's line as they read it. The CSVs that
Arrow parses (nvidia-smi, record) give rows only: Arrow skips blank lines and lines with the wrong
number of fields without saying where (its InvalidRow.number is None in the streaming reader,
seen with pyarrow 26), and it parses blocks ahead of the batch being checked. So those rows carry their
ordinal among the rows Arrow yielded, and a refusal finds the physical line by reading the file
again, skipping what Arrow skips (csv_locator). That costs one more pass, only on the way out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
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


class CsvLocator:
    """ordinal (0-based, among the rows Arrow parsed) -> the file line of that row, by one more
    pass over the file that skips what Arrow skips: blank lines, rows with another field count."""

    def __init__(self, path: Path, header_lines: int, fields: int) -> None:
        self.path, self.header_lines, self.fields = path, header_lines, fields

    def __call__(self, ordinal: int) -> int:
        return self.many([ordinal])[0]

    def many(self, ordinals: list[int]) -> list[int]:
        """The lines of several rows in one pass (0 for one not found: the file changed since)."""
        wanted = sorted(set(ordinals))
        found: dict[int, int] = {}
        seen, k = -1, 0
        with io.TextIOWrapper(open_stream(self.path, _NoStats()), encoding="utf-8-sig", errors="replace",
                              newline="") as f:
            for number, (text, commas) in enumerate(_shapes(f), start=1):
                if k == len(wanted):
                    break
                if number <= self.header_lines or not self._row(text, commas):
                    continue
                seen += 1
                if seen == wanted[k]:
                    found[seen], k = number, k + 1
        return [found.get(o, 0) for o in ordinals]

    def first_skipped(self) -> int:
        """The line of the first row Arrow skipped (another field count); 0 if none."""
        with io.TextIOWrapper(open_stream(self.path, _NoStats()), encoding="utf-8-sig", errors="replace",
                              newline="") as f:
            for number, (text, commas) in enumerate(_shapes(f), start=1):
                if number > self.header_lines and text and not self._row(text, commas):
                    return number
        return 0

    def _row(self, text: str, commas: int) -> bool:
        if not text:  # Arrow's ignore_empty_lines
            return False
        if '"' not in text or len(text) >= MAX_LINE_CHARS:  # the common case, without csv's cost
            return commas + 1 == self.fields
        return len(next(csv.reader([text]), [])) == self.fields


def csv_locator(path: Path, header_lines: int, fields: int) -> CsvLocator:
    return CsvLocator(path, header_lines, fields)


def _shapes(f) -> Iterator[tuple[str, int]]:
    """Per line: its text (without the line end; only its start past MAX_LINE_CHARS) and its comma
    count, read in pieces, so a garbage line of gigabytes is never held whole."""
    text, commas = "", 0
    while piece := f.readline(MAX_LINE_CHARS):
        commas += piece.count(",")
        if len(text) < MAX_LINE_CHARS:
            text += piece
        if piece.endswith(("\n", "\r")):
            yield text.rstrip("\r\n"), commas
            text, commas = "", 0
    if text:
        yield text.rstrip("\r\n"), commas
