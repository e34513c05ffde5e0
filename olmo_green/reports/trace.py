"""Reading and checking a trace CSV from elsewhere (a cluster's own power logs).

Columns are the run record's sample columns (runrecord.SAMPLE_COLUMNS); only
`time_s`, `device` and one of `power_w` / `energy_j` are required. Every
problem is reported as one line naming the file, the line and the fix, before
anything is computed, so a bad trace never gives a half-right report.

Read with pyarrow's CSV reader and dictionary-encoded text columns: ten
million rows of repeated node/device names cost a few bytes each, not a
Python string each.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green.errors import InputFileError
from olmo_green.runrecord import REQUIRED_SAMPLE_COLUMNS

TEXT_COLUMNS = ("node", "device", "domain", "source")
# Source of samples whose file names none: not "replay", so each curve keeps its
# measured method (counter or power integration); the account says "replayed".
TRACE_SOURCE = "trace"
KEY_COLUMNS = ["node", "device", "domain"]
BLOCK_BYTES = 32 << 20  # CSV text parsed per block


def _fail(path: Path, line: int | None, what: str, fix: str) -> InputFileError:
    where = f"{path}:{line}" if line else f"{path}"
    return InputFileError(f"{where}: {what}; {fix}")


def require_trace_file(path: str | Path) -> None:
    if not Path(path).is_file():
        raise _fail(Path(path), None, "trace not found",
                    "pass an existing CSV with time_s,device,power_w columns")


def _header(path: Path) -> list[str]:
    require_trace_file(path)
    with path.open(encoding="utf-8", errors="replace", newline="") as f:
        return next(csv.reader(f), [])


def _first_bad_line(path: Path, header: list[str]) -> int | None:
    """The line Arrow could not parse (the error path only: a plain Python scan)."""
    numeric = [i for i, name in enumerate(header) if name in ("time_s", "power_w", "energy_j")]
    with path.open(encoding="utf-8", errors="replace", newline="") as f:
        for line, row in enumerate(csv.reader(f), start=1):
            if line == 1:
                continue
            if len(row) != len(header):
                return line
            try:
                [float(row[i]) for i in numeric if row[i].strip()]
            except ValueError:
                return line
    return None


def _read(path: Path) -> pd.DataFrame:
    """The CSV as a frame: floats, and text columns as categoricals.

    Streamed block by block (text held one block at a time) with the text
    columns dictionary-encoded as they are parsed; the Arrow table is then
    handed to pandas column by column (self_destruct), so the peak is about
    one copy of the numbers.
    """
    import pyarrow as pa
    from pyarrow import csv as pacsv

    header = _header(path)
    text = pa.dictionary(pa.int32(), pa.string())
    types = {c: text for c in TEXT_COLUMNS if c in header}
    types |= {c: pa.float64() for c in ("time_s", "power_w", "energy_j") if c in header}
    options = pacsv.ConvertOptions(column_types=types, strings_can_be_null=True)
    try:
        reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES),
                                convert_options=options)
        table = pa.Table.from_batches(list(reader), schema=reader.schema).unify_dictionaries()
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        line = _first_bad_line(path, header)
        raise _fail(path, line, f"unreadable CSV ({str(e).splitlines()[0]})",
                    "numbers in time_s, power_w and energy_j, one row per sample") from e
    frame = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    # Arrow's allocator keeps freed blocks for reuse; hand them back so the
    # NumPy work that follows does not stack its peak on top of them.
    pa.default_memory_pool().release_unused()
    return frame


def _check_columns(path: Path, frame: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_SAMPLE_COLUMNS if c not in frame]
    if not {"power_w", "energy_j"} & set(frame.columns):
        missing.append("power_w or energy_j")
    if missing:
        raise _fail(path, 1, f"missing column(s) {', '.join(missing)} (have {', '.join(frame.columns)})",
                    "add them to the header: time_s (UNIX s), device, power_w (W) or energy_j (cumulative J)")
    if len(frame) == 0:
        raise _fail(path, None, "no samples", "give at least two samples per device")


def _check_values(path: Path, frame: pd.DataFrame) -> None:
    time_s = frame["time_s"].to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(time_s))
    if len(bad):
        raise _fail(path, int(bad[0]) + 2, "time_s is empty or not a number",
                    "give UNIX seconds on every row")
    power = frame["power_w"].to_numpy(dtype=float) if "power_w" in frame else np.full(len(frame), np.nan)
    energy = frame["energy_j"].to_numpy(dtype=float) if "energy_j" in frame else np.full(len(frame), np.nan)
    bad = np.flatnonzero(power < 0)
    if len(bad):
        raise _fail(path, int(bad[0]) + 2, f"negative power_w {power[bad[0]]}", "power is 0 W or more")
    bad = np.flatnonzero(energy < 0)
    if len(bad):
        raise _fail(path, int(bad[0]) + 2, f"negative energy_j {energy[bad[0]]}",
                    "a counter reads 0 J or more")
    bad = np.flatnonzero(np.isnan(power) & np.isnan(energy))
    if len(bad):
        raise _fail(path, int(bad[0]) + 2, "neither power_w nor energy_j is a number on this row",
                    "drop the row or give its power in W")


def _device_codes(frame: pd.DataFrame) -> np.ndarray:
    """One integer per (node, device, domain), from the columns' category codes.

    Arithmetic on the codes, not a MultiIndex: building ten million tuples
    costs seconds, this costs milliseconds.
    """
    codes = np.zeros(len(frame), dtype=np.int64)
    for column in KEY_COLUMNS:
        categorical = frame[column].cat
        codes = codes * (len(categorical.categories) + 1) + categorical.codes.to_numpy(np.int64) + 1
    return codes


def _check_monotonic(path: Path, frame: pd.DataFrame) -> np.ndarray:
    """Fail at the first row whose time goes back for its device; return the grouped order."""
    codes = _device_codes(frame)
    order = np.argsort(codes, kind="stable")  # file order kept within a device
    time_s = frame["time_s"].to_numpy(dtype=float)[order]
    same = codes[order][1:] == codes[order][:-1]
    back = np.flatnonzero(same & (np.diff(time_s) < 0))
    if len(back):
        row = int(order[back[0] + 1])
        device = frame["device"].iloc[row]
        raise _fail(path, row + 2, f"time_s goes back for device {device} ({frame['time_s'].iloc[row]})",
                    "sort the trace by time within each device")
    return order


def _fill_labels(frame: pd.DataFrame) -> pd.DataFrame:
    defaults = {"node": "trace", "domain": "gpu", "source": TRACE_SOURCE}
    for column, value in defaults.items():
        if column not in frame:
            frame[column] = pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8), [value])
        elif frame[column].isna().any():
            frame[column] = frame[column].cat.add_categories([value]).fillna(value) \
                if value not in frame[column].cat.categories else frame[column].fillna(value)
    return frame


def read_trace(path: str | Path) -> pd.DataFrame:
    """A checked trace as samples, grouped by device and in time order within each."""
    path = Path(path)
    frame = _read(path)
    _check_columns(path, frame)
    _check_values(path, frame)
    frame = _fill_labels(frame)
    order = _check_monotonic(path, frame)
    if np.array_equal(order, np.arange(len(order))):
        return frame  # already grouped by device (the usual layout): no copy
    return frame.iloc[order].reset_index(drop=True)
