"""Sample chunks: reading one chunk (Parquet or CSV) into the sample columns, and a run's samples."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from olmo_green.checks import ABSURD_POWER_W, implausible_times
from olmo_green.fileio import replacing
from olmo_green.record.csvfile import read_csv_tolerant
from olmo_green.record.layout import REQUIRED_SAMPLE_COLUMNS, SAMPLE_COLUMNS, SAMPLE_DTYPES, open_chunk_path
from olmo_green.record.nodes import node_names, sample_chunks

# A chunk written by a meter whose `sensors` event lists the devices it counts (record/events.py,
# SENSORS_COUNTED) says so in its Parquet metadata: the samples then promise that event, and a
# record whose events lost it (deleted lines, a removed key) is a finding (crosscheck/sensors.py)
# rather than a record too old to judge. Format 1: chunks written before the mark.
CHUNK_FORMAT_KEY = b"olmo_green.chunk_format"
CHUNK_FORMAT = 2
MAX_CHUNK_FORMAT = 99  # a mark beyond it is garbage (read as 1), never a huge integer to store


def chunk_format(path: Path) -> int:
    """The format a chunk's meter wrote it in (CHUNK_FORMAT_KEY); 1 without the mark (a CSV, an
    older or foreign chunk, a chunk rewritten by another tool)."""
    if path.suffix != ".parquet":
        return 1
    try:
        value = int((pq.read_schema(path).metadata or {}).get(CHUNK_FORMAT_KEY, b"1").decode("ascii"))
    except (OSError, ValueError, UnicodeError, pa.ArrowException):
        return 1
    return value if 1 <= value <= MAX_CHUNK_FORMAT else 1  # a garbled mark promises nothing


def normalise_samples(frame: pd.DataFrame) -> pd.DataFrame:
    for column in SAMPLE_COLUMNS:
        if column not in frame:
            frame[column] = math.nan if SAMPLE_DTYPES[column] == "float64" else pd.NA
    return frame[SAMPLE_COLUMNS].astype(SAMPLE_DTYPES)



def read_sample_chunk(path: Path) -> tuple[pd.DataFrame, int]:
    """One chunk's samples in the sample columns, and how many bad rows were skipped.

    A CSV chunk (the open one, or one a kill left unconverted) may hold a torn line
    glued to the next (too many fields) or text in a numeric column; any chunk may
    hold a time that is not a number, or a power or counter that is infinite or
    negative, or a time that is not UNIX seconds. Such rows are skipped and counted, never
    read as numbers.
    Raises OSError or ValueError for a file that cannot be read at all.
    """
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        _require_sample_columns(frame)
        return _plausible_rows(normalise_samples(frame), 0)
    text = path.read_text(encoding="utf-8", errors="replace")
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]  # a torn last line: the writer was killed mid-line
    lines = [line for line in text.splitlines()[1:] if line.strip()]
    if not lines:
        return normalise_samples(pd.DataFrame(columns=SAMPLE_COLUMNS)), 0
    from io import StringIO

    frame = pd.read_csv(StringIO(text), dtype=str, on_bad_lines="skip", keep_default_na=False)
    _require_sample_columns(frame)
    unparsable = pd.Series(False, index=frame.index)
    for column in ("time_s", "power_w", "energy_j"):
        if column in frame:
            text_values = frame[column].str.strip()
            numbers = pd.to_numeric(text_values, errors="coerce")
            unparsable |= numbers.isna() & (text_values != "")
            frame[column] = numbers
    frame = frame[~unparsable].replace("", pd.NA)
    return _plausible_rows(normalise_samples(frame), len(lines) - len(frame))


def _require_sample_columns(frame: pd.DataFrame) -> None:
    """A chunk without a time, a device, or any reading is not a sample chunk (a renamed column
    would read as no energy, a missing device as one device of all): it is unreadable, named."""
    missing = [c for c in REQUIRED_SAMPLE_COLUMNS if c not in frame]
    if not {"power_w", "energy_j"} & set(frame):
        missing.append("power_w or energy_j")
    if missing:
        raise ValueError(f"no {', '.join(missing)} column (columns: {', '.join(map(str, frame.columns))})")


def _plausible_rows(frame: pd.DataFrame, bad: int) -> tuple[pd.DataFrame, int]:
    """Drop rows no sensor can have written: a time that is not UNIX seconds (none, milliseconds,
    a clock never set: the rule traces and steps follow, checks.implausible_times), an infinite
    or negative reading, a power above any device's (checks.ABSURD_POWER_W), or no device.
    Integrating milliseconds as seconds would be 1000x wrong; a device-less row would merge
    devices into one curve."""
    time_s = frame["time_s"].to_numpy(dtype=float)
    values = frame[["power_w", "energy_j"]].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        wrong = implausible_times(time_s) | np.isinf(values).any(axis=1) | (values < 0).any(axis=1)
        wrong |= frame["power_w"].to_numpy(dtype=float) > ABSURD_POWER_W  # no device draws 20 kW
    device = frame["device"].astype("string").str.strip()
    wrong |= (device.isna() | (device == "")).to_numpy(dtype=bool)  # samples of no device: never merged
    if not wrong.any():
        return frame, bad
    return frame[~wrong].reset_index(drop=True), bad + int(wrong.sum())


def read_samples(run_dir: str | Path, node: str | None = None) -> pd.DataFrame:
    """All samples of a run (or of one node), sorted by node, device and time."""
    frames = []
    for name in [node] if node else node_names(run_dir):
        for _, path in sorted(sample_chunks(run_dir, name).get(name, {}).items()):
            frames.append(pd.read_parquet(path) if path.suffix == ".parquet"
                          else read_csv_tolerant(path, SAMPLE_COLUMNS))
        if open_chunk_path(run_dir, name).exists():
            frames.append(read_csv_tolerant(open_chunk_path(run_dir, name), SAMPLE_COLUMNS))
    frames = [normalise_samples(f) for f in frames if len(f)]
    if not frames:
        return normalise_samples(pd.DataFrame(columns=SAMPLE_COLUMNS))
    samples = pd.concat(frames, ignore_index=True)
    return samples.sort_values(["node", "device", "time_s"], kind="stable", ignore_index=True)


def last_sample_time_s(path: Path) -> float | None:
    """The newest sample time of a closed Parquet chunk (its time column only), None if empty."""
    times = pq.read_table(path, columns=["time_s"]).column("time_s")
    return float(pc.max(times).as_py()) if len(times) else None


def convert_chunk(csv_path: Path, parquet_path: Path, mark: int = CHUNK_FORMAT) -> tuple[pd.DataFrame, int]:
    """A closed CSV chunk -> Parquet (written aside, then renamed), then the CSV goes. `mark`: the
    format to stamp (CHUNK_FORMAT_KEY), 1 for none (a meter whose sensors event lists no devices).

    Returns the samples and the count of bad rows skipped, for the chunk's summary.
    """
    frame, bad_rows = read_sample_chunk(csv_path)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if mark > 1:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               CHUNK_FORMAT_KEY: str(mark).encode("ascii")})
    # zstd level 9 without byte-stream split was the smallest on NVML-like samples (~9 bytes a row;
    # time_s repeats once per device, so its dictionary pays). mkstemp beside it (fileio.replacing):
    # a name planted in advance, a symlink included, is never written through.
    with replacing(parquet_path) as tmp:
        pq.write_table(table, tmp, compression="zstd", compression_level=9)
    csv_path.unlink()
    return frame, bad_rows
