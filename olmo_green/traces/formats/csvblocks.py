"""CSV printed in blocks (amd-smi, rocm-smi): headers repeated, time lines between, rows parsed by Arrow.

Python only sorts the lines: a header, a time line (textlog.TimeLines), a
blank or chatter line, or a row. Rows are gathered with their file line and the
time of their block written in front (`line,time,row`), and each batch of them is parsed by
Arrow's CSV reader as text columns, then converted in Arrow's compute kernels
(common.numbers). 1 M amd-smi rows: 7 s, most of it Python sorting lines; csv.reader
and a dict per row took 18 s.
A row with the wrong number of fields is skipped and counted, its time with it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green.traces.formats import textlog
from olmo_green.traces.formats.arrowcsv import MALFORMED
from olmo_green.traces.formats.common import fail, numbers, text_lines

TIME = "__time_s"  # the column the block's time is written in, before the row's own
LINE = "__line"  # and before it, the row's line in the file (1-based), so refusals name FILE:LINE


class Blocks(textlog.TimeLines):
    """Lines sorted into rows (text frames with TIME first) batch by batch."""

    def __init__(self, path: Path, options, stats, is_header: Callable[[list[str]], bool],
                 chatter: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.path, self.options, self.stats = path, options, stats
        self.is_header, self.chatter = is_header, chatter
        self.fields: list[str] = []
        self.pending: list[str] = []
        self.found = False

    def frames(self) -> Iterator[pd.DataFrame]:
        for number, line in enumerate(text_lines(self.path, self.stats), start=1):
            text = line.strip()
            if not text or text.startswith(self.chatter):
                continue
            if "," not in text:
                self._time_line(text)
            elif self.is_header(fields := [f.strip() for f in text.split(",")]):
                if fields != self.fields:  # the same header repeated each round: one batch goes on
                    yield from self._flush()
                    self.fields = fields
                self.header_seen()
            else:
                self.pending.append(f"{number},{'' if self.time_s is None else repr(self.time_s)},{text}\n")
                if len(self.pending) >= self.options.batch_rows:
                    yield from self._flush()
            if not self.found and not self.pending and number >= textlog.GARBAGE_LINES:
                raise fail(self.path, None, f"no readable row in its first {textlog.GARBAGE_LINES:,} lines",
                           "check that the file is the log it looks like")
        yield from self._flush()

    def _time_line(self, text: str) -> None:
        time_s = textlog.parse_time(text, self.options.tz)
        if time_s is None:
            self.stats.drop("unrecognised line")
        else:
            self.time_line(time_s)

    def _flush(self) -> Iterator[pd.DataFrame]:
        if not self.pending:
            return
        lines, self.pending = self.pending, []
        self.found = True
        self.stats.rows_read += len(lines)
        if not self.fields:
            self.stats.drop(MALFORMED, len(lines))  # rows before any header: no column names
            return
        yield self._parse("".join(lines).encode())

    def _parse(self, data: bytes) -> pd.DataFrame:
        import pyarrow as pa
        from pyarrow import csv as pacsv

        def bad_row(row) -> str:
            self.stats.drop(MALFORMED)
            return "skip"

        names = [LINE, TIME, *self.fields]
        columns = [f"c{i}" for i in range(len(names))]  # unique: a header may repeat a name
        read = pacsv.ReadOptions(column_names=columns, block_size=max(len(data), 1 << 20))
        convert = pacsv.ConvertOptions(column_types={c: pa.string() for c in columns},
                                       strings_can_be_null=False, quoted_strings_can_be_null=False)
        try:
            table = pacsv.read_csv(io.BytesIO(data), read_options=read, convert_options=convert,
                                   parse_options=pacsv.ParseOptions(invalid_row_handler=bad_row))
        except pa.ArrowInvalid as e:
            raise fail(self.path, None, f"unreadable rows ({str(e).splitlines()[0]})", "check the log") from e
        frame = table.to_pandas()
        frame.columns = names
        return frame


def times(frame: pd.DataFrame) -> np.ndarray:
    """The block's time of each row (NaN where no time line preceded it)."""
    return numbers(frame[TIME])[0]


def lines(frame: pd.DataFrame) -> np.ndarray:
    """Each row's line in the file."""
    return frame[LINE].astype(np.int64).to_numpy()
