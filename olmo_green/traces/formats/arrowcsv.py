"""Streaming a CSV log with Arrow's incremental reader: one block of text at a time.

All columns are read as text, so a reader parses units ("116.51 W") and gaps
("[N/A]") itself; rows with the wrong number of fields are skipped and
counted (a line torn by two writers, a half line), never a traceback.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from olmo_green.traces.formats.common import BLOCK_BYTES, fail, open_stream

MALFORMED = "malformed row (wrong number of fields)"
GARBAGE_ROWS = 100_000


def header_fields(head: str) -> list[str]:
    """The first line of `head` as stripped CSV fields (nvidia-smi writes ", " between them)."""
    line = head.splitlines()[0] if head.strip() else ""
    return [name.strip() for name in next(csv.reader([line]), [])]


def stream(path: Path, stats, names: list[str], keep: list[str],
           skip_rows: int = 1) -> Iterator[pd.DataFrame]:
    """Frames of the `keep` columns (text) of a CSV whose columns are `names`; `skip_rows` header lines."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    def bad_row(row) -> str:
        stats.drop(MALFORMED)
        # a header followed by garbage: stop rather than read gigabytes of it row by row
        return "error" if stats.rows_read == 0 and stats.rows_dropped[MALFORMED] >= GARBAGE_ROWS else "skip"

    # Unique positional names: a header may repeat a name or carry spaces Arrow would keep.
    columns = [f"c{i}" for i in range(len(names))]
    wanted = [columns[names.index(name)] for name in keep]
    read = pacsv.ReadOptions(column_names=columns, skip_rows=skip_rows, block_size=BLOCK_BYTES)
    parse = pacsv.ParseOptions(invalid_row_handler=bad_row)
    convert = pacsv.ConvertOptions(column_types={c: pa.string() for c in columns}, include_columns=wanted,
                                   strings_can_be_null=False, quoted_strings_can_be_null=False)
    try:
        reader = pacsv.open_csv(open_stream(path, stats), read_options=read, parse_options=parse,
                                convert_options=convert)
        for batch in reader:
            frame = batch.to_pandas()
            frame.columns = keep
            stats.rows_read += len(frame)
            yield frame
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        if stats.rows_dropped.get(MALFORMED, 0) >= GARBAGE_ROWS and stats.rows_read == 0:
            raise fail(path, None, f"no readable row in its first {GARBAGE_ROWS:,} rows",
                       "check that the file is the log it looks like") from e
        raise fail(path, None, f"unreadable CSV ({str(e).splitlines()[0]})", "check the log") from e
    except OSError as e:  # a cut-off compressed file
        raise fail(path, None, f"cannot be read ({str(e).splitlines()[0]})",
                   "check the file (is it complete?)") from e
