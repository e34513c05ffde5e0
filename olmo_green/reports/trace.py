"""Reading and checking a trace CSV from elsewhere (a cluster's own power logs).

Columns are the run record's sample columns (record.SAMPLE_COLUMNS); only
`time_s`, `device` and one of `power_w` / `energy_j` are required. Every
problem is reported as one line naming the file, the line and the fix, before
anything is computed, so a bad trace never gives a half-right report.

A trace passes the checks of live samples (telemetry/validate.py) and the
rule for numbers (checks.py): times are plausible UNIX seconds (not
milliseconds, not years away), each device has at least two samples, the
domain is one of the record's, power and counters are finite and not
negative, and a counter never rises faster than a device can draw. An
accelerator's power above 3x its profile's package TDP (above 20 kW where
no profile names the accelerator) is dropped and counted, as the live
sampler does, when the caller passes the profile and prints the count
(`trace_events`); without a profile such a value is refused.

A gzip, bz2 or zstd file is read as the CSV inside it (found by its first
bytes, whatever its name); other archives are refused in one line.

Read with pyarrow's CSV reader and dictionary-encoded text columns: ten
million rows of repeated node/device names cost a few bytes each, not a
Python string each.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green import checks
from olmo_green.errors import InputFileError
from olmo_green.record import DOMAINS, EVENT_REJECTED_SAMPLES, REQUIRED_SAMPLE_COLUMNS
from olmo_green.traces.formats.common import CODECS, UNREADABLE

TEXT_COLUMNS = ("node", "device", "domain", "source")
# Source of samples whose file names none: not "replay", so each curve keeps its
# measured method (counter or power integration); the account says "replayed".
TRACE_SOURCE = "trace"
KEY_COLUMNS = ["node", "device", "domain"]
BLOCK_BYTES = 32 << 20  # CSV text parsed per block
MIN_ACCELERATOR_W = 1.0  # a powered accelerator never reads less at its highest (idle is tens of W)


def _fail(path: Path, line: int | None, what: str, fix: str) -> InputFileError:
    where = f"{path}:{line}" if line else f"{path}"
    return InputFileError(f"{where}: {what}; {fix}")


# First bytes of compressed files (those Arrow can read, those it cannot): traces/formats/common.py.


def require_trace_file(path: str | Path) -> None:
    path = Path(path)
    if path.is_dir():
        raise _fail(path, None, "is a directory", "pass the trace CSV file itself")
    if not path.is_file():
        raise _fail(path, None, "trace not found",
                    "pass an existing CSV with time_s,device,power_w columns")


def _codec(path: Path) -> str | None:
    """The compression of the file, from its first bytes; an unreadable archive is one line."""
    with path.open("rb") as f:
        head = f.read(8)
    for magic, what in UNREADABLE.items():
        if head.startswith(magic):
            raise _fail(path, None, f"is {what}", "extract the CSV, or compress it with gzip (.csv.gz)")
    return next((codec for magic, codec in CODECS.items() if head.startswith(magic)), None)


def _input(path: Path):
    """What Arrow reads: the file, or the stream that decompresses it."""
    import pyarrow as pa

    codec = _codec(path)
    return str(path) if codec is None else pa.input_stream(str(path), compression=codec)


def _text(path: Path):
    """The file as text (decompressed), for the header and the error path; a BOM is skipped."""
    codec = _codec(path)
    if codec is None:
        return path.open(encoding="utf-8-sig", errors="replace", newline="")
    import pyarrow as pa

    stream = pa.input_stream(str(path), compression=codec)
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")


def _header(path: Path) -> list[str]:
    require_trace_file(path)
    try:
        with _text(path) as f:
            return next(csv.reader(f), [])
    except OSError as e:  # a truncated gzip file, an unreadable file
        raise _fail(path, None, f"cannot be read ({e})", "check the file (is it complete?)") from e


def _first_bad_line(path: Path, header: list[str]) -> int | None:
    """The line Arrow could not parse (the error path only: a plain Python scan)."""
    numeric = [i for i, name in enumerate(header) if name in ("time_s", "power_w", "energy_j")]
    with _text(path) as f:
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
        reader = pacsv.open_csv(_input(path), read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES),
                                convert_options=options)
        table = pa.Table.from_batches(list(reader), schema=reader.schema).unify_dictionaries()
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        if not header:
            raise _fail(path, None, "is empty", "give a header and at least two samples per device") from e
        line = _first_bad_line(path, header)
        raise _fail(path, line, f"unreadable CSV ({str(e).splitlines()[0]})",
                    "numbers in time_s, power_w and energy_j, one row per sample") from e
    except OSError as e:  # a truncated or corrupt compressed file
        raise _fail(path, None, f"cannot be read ({str(e).splitlines()[0]})", "check the file") from e
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
    bad = np.flatnonzero(checks.implausible_times(time_s))
    if len(bad):
        raise _fail(path, int(bad[0]) + 2, checks.time_problem(float(time_s[bad[0]])),
                    "give time_s in UNIX seconds (e.g. 1.7e9 for late 2023)")
    power = frame["power_w"].to_numpy(dtype=float) if "power_w" in frame else np.full(len(frame), np.nan)
    energy = frame["energy_j"].to_numpy(dtype=float) if "energy_j" in frame else np.full(len(frame), np.nan)
    bad = np.flatnonzero(power < 0)
    if len(bad):
        raise _fail(path, int(bad[0]) + 2, f"negative power_w {power[bad[0]]}", "power is 0 W or more")
    bad = np.flatnonzero(energy < 0)
    if len(bad):
        raise _fail(path, int(bad[0]) + 2, f"negative energy_j {energy[bad[0]]}",
                    "a counter reads 0 J or more")
    bad = np.flatnonzero(np.isinf(power) | np.isinf(energy))
    if len(bad):
        raise _fail(path, int(bad[0]) + 2, "power_w or energy_j is infinite", "give finite W and J values")
    bad = np.flatnonzero(np.isnan(power) & np.isnan(energy))
    if len(bad):
        raise _fail(path, int(bad[0]) + 2, "neither power_w nor energy_j is a number on this row",
                    "drop the row or give its power in W")
    bad = np.flatnonzero(frame["device"].isna().to_numpy())
    if len(bad):
        raise _fail(path, int(bad[0]) + 2, "device is empty", "name the device of every row (0, 1, ...)")
    if "node" in frame:  # some rows named, some not: one device would split into two curves
        empty = frame["node"].isna().to_numpy()
        if empty.any() and not empty.all():
            raise _fail(path, int(np.flatnonzero(empty)[0]) + 2, "node is empty here but named on other "
                        "rows", "name the node of every row, or of none")


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
    """Fail at the first row whose time goes back (or repeats with another value) for its
    device, or at a device with a single sample; return the grouped order."""
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
    repeated = np.flatnonzero(same & (np.diff(time_s) == 0) & _values_differ(frame, order))
    if len(repeated):
        row = int(order[repeated[0] + 1])
        raise _fail(path, row + 2, f"time_s {frame['time_s'].iloc[row]} repeats for device "
                    f"{frame['device'].iloc[row]} with another value", "keep one row per device and time")
    _check_two_samples(path, frame, codes)
    return order


def _values_differ(frame: pd.DataFrame, order: np.ndarray) -> np.ndarray:
    differ = np.zeros(max(len(order) - 1, 0), dtype=bool)
    for column in ("power_w", "energy_j"):
        if column in frame:
            values = frame[column].to_numpy(dtype=float)[order]
            a, b = values[1:], values[:-1]
            differ |= ~((a == b) | (np.isnan(a) & np.isnan(b)))
    return differ


def _check_two_samples(path: Path, frame: pd.DataFrame, codes: np.ndarray) -> None:
    """A device needs two samples to have any energy: one alone would be counted as zero."""
    unique, first, counts = np.unique(codes, return_index=True, return_counts=True)
    single = np.flatnonzero(counts < 2)
    if len(single):
        row = int(first[single[0]])
        raise _fail(path, row + 2, f"device {frame['device'].iloc[row]} has a single sample, so no energy",
                    "give every device at least two samples, or drop its row")


def _fill_labels(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    defaults = {"node": "trace", "domain": "gpu", "source": TRACE_SOURCE}
    for column, value in defaults.items():
        if column not in frame:
            frame[column] = pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8), [value])
        elif frame[column].isna().any():
            frame[column] = frame[column].cat.add_categories([value]).fillna(value) \
                if value not in frame[column].cat.categories else frame[column].fillna(value)
    # "GPU" is gpu: a domain in another case would be a curve the report does not count as one.
    domains = frame["domain"].cat.categories
    lower = [str(d).strip().lower() for d in domains]
    unknown = sorted(set(lower) - set(DOMAINS))
    if unknown:
        row = int(np.flatnonzero(frame["domain"].astype(str).str.strip().str.lower() == unknown[0])[0])
        raise _fail(path, row + 2, f"unknown domain {unknown[0]!r}", f"use one of {', '.join(DOMAINS)}")
    if lower != list(domains):
        frame["domain"] = frame["domain"].astype(str).str.strip().str.lower().astype("category")
    return frame


def _check_power(path: Path, frame: pd.DataFrame, profile) -> dict[str, int]:
    """The live sampler's limit on an accelerator's power (telemetry/validate.py): above it a value
    is dropped and counted where a profile is given, refused where none is; returns the counts."""
    from olmo_green.telemetry.validate import gpu_limit_w

    limit_w = gpu_limit_w(profile)
    gpu = (frame["domain"] == "gpu").to_numpy()
    above = np.zeros(len(frame), dtype=bool)
    if "power_w" in frame:
        with np.errstate(invalid="ignore"):
            above = gpu & (frame["power_w"].to_numpy(dtype=float) > limit_w)
    if above.any() and profile is None:
        row = int(np.flatnonzero(above)[0])
        raise _fail(path, row + 2, f"power_w {frame['power_w'].iloc[row]:g} W is above any accelerator's "
                    f"({limit_w:g} W)", "give power in W (not mW), or pass --hardware to drop such values")
    if above.any():
        # dropped, not clamped (a new column: Arrow's buffers are read-only); an empty row is removed
        frame["power_w"] = frame["power_w"].where(~above)
    _check_low_power(path, frame, profile, gpu)
    return {"above_limit": int(above.sum())} if above.any() else {}


def _check_low_power(path: Path, frame: pd.DataFrame, profile, gpu: np.ndarray) -> None:
    """Accelerators that never draw a tenth of their idle power (or 1 W, where no profile names
    the accelerator; a powered accelerator idles at tens of W): the trace is in kW, not W."""
    if "power_w" not in frame or not gpu.any():
        return
    named = profile is not None and profile.vendor != "any"
    floor_w = profile.package_idle_w / 10 if named else MIN_ACCELERATOR_W
    power = frame["power_w"].to_numpy(dtype=float)[gpu]
    if np.isfinite(power).any() and 0 < np.nanmax(power) < floor_w:
        what = f"a tenth of a {profile.accelerator}'s idle power" if named else "any accelerator's idle"
        raise _fail(path, None, f"the highest accelerator power is {np.nanmax(power):g} W, under {what} "
                    f"({floor_w:g} W)", "give power_w in W, not kW")


def _check_counter_rates(path: Path, frame: pd.DataFrame, order: np.ndarray, profile) -> None:
    """A counter that rises faster than a device can draw (a jump, or mJ read as J) is refused."""
    from olmo_green.telemetry.validate import gpu_limit_w

    if "energy_j" not in frame:
        return
    limit_w = gpu_limit_w(profile)
    codes = _device_codes(frame)[order]
    time_s = frame["time_s"].to_numpy(dtype=float)[order]
    energy = frame["energy_j"].to_numpy(dtype=float)[order]
    gpu = (frame["domain"] == "gpu").to_numpy()[order]
    known = np.isfinite(energy)
    codes, time_s, energy, gpu, rows = codes[known], time_s[known], energy[known], gpu[known], order[known]
    dt, de = np.diff(time_s), np.diff(energy)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = de / dt
    fast = (codes[1:] == codes[:-1]) & gpu[1:] & (de > 0) & (dt > 0) & (rate > limit_w)
    if fast.any():
        i = int(np.flatnonzero(fast)[0])
        raise _fail(path, int(rows[i + 1]) + 2, f"energy_j rises {de[i]:g} J in {dt[i]:g} s ({rate[i]:g} W), "
                    f"more than an accelerator draws ({limit_w:g} W)", "give the counter in J (not mJ), "
                    "and check the counter for a jump")


def read_trace(path: str | Path, profile=None) -> pd.DataFrame:
    """A checked trace as samples, grouped by device and in time order within each.

    With `profile` (the run's hardware), accelerator power above 3x its package TDP is
    dropped and counted in `frame.attrs["rejected_samples"]` (see trace_events); without
    one, a power above any accelerator's is refused.
    """
    path = Path(path)
    frame = _read(path)
    _check_columns(path, frame)
    _check_values(path, frame)
    frame = _fill_labels(path, frame)
    order = _check_monotonic(path, frame)
    _check_counter_rates(path, frame, order, profile)
    rejected = _check_power(path, frame, profile)
    if not np.array_equal(order, np.arange(len(order))):  # not already grouped by device: reorder
        frame = frame.iloc[order].reset_index(drop=True)
    if rejected:
        energy = frame["energy_j"] if "energy_j" in frame else pd.Series(np.nan, index=frame.index)
        frame = frame[frame["power_w"].notna() | energy.notna()].reset_index(drop=True)
    frame.attrs["rejected_samples"] = rejected
    return frame


def trace_events(frame: pd.DataFrame) -> list[dict]:
    """The `rejected_samples` event of a trace's dropped values, as the live sampler writes it,
    for the report's notes."""
    counts = frame.attrs.get("rejected_samples") or {}
    if not counts:
        return []
    return [{"kind": EVENT_REJECTED_SAMPLES, "source": TRACE_SOURCE, "counts": dict(counts)}]
