"""What every format reader shares: opening, sniffing bytes, time zones, CSV streaming.

Files are read through `open_stream`: a raw byte stream that advances
`stats.bytes_done` as it is read (the progress bar's measure) and that ends
before a last line with no newline (a log cut off by a kill mid-write): that
line is dropped and counted, never parsed into a half-written number.
gzip, bz2 and zstd files are read through Arrow's decompressing stream
(bytes_done then counts compressed bytes); their tail is not trimmed, as a
cut-off compressed file fails to decompress, which is refused in one line.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from olmo_green.errors import InputFileError

MAX_LINE_CHARS = 64 << 10
SNIFF_BYTES = 64 << 10  # what sniffers see: a few header lines of any format, never the whole file
BLOCK_BYTES = 8 << 20  # CSV text Arrow parses at a time
CODECS = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\x28\xb5\x2f\xfd": "zstd"}
UNREADABLE = {b"PK\x03\x04": "a zip archive", b"\xfd7zXZ\x00": "xz-compressed"}
SUFFIXES = (".gz", ".bz2", ".zst", ".csv", ".log", ".txt", ".json", ".out", ".tsv")
NA_TEXT = ("[N/A]", "N/A", "[Not Supported]", "Not Supported", "[Unknown Error]", "[GPU is lost]",
           "[Insufficient Permissions]", "[Not Found]", "[Not Available]", "NA", "nan", "")
_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2}):?(\d{2})?$")


def fail(path: Path | str, line: int | None, what: str, fix: str) -> InputFileError:
    where = f"{path}:{line}" if line else f"{path}"
    return InputFileError(f"{where}: {what}; {fix}")


def require_file(path: Path) -> None:
    if path.is_dir():
        raise fail(path, None, "is a directory", "pass the trace file itself")
    if not path.is_file():
        raise fail(path, None, "trace not found", "pass an existing power log")


def refuse_copies(paths: list[Path]) -> None:
    """Two files with the same bytes are one node's log given twice (copied under another
    node's name): each file is read as a node, so its energy would count twice. Only files of
    equal size are hashed, so distinct logs cost one stat each."""
    import hashlib

    by_size: dict[int, list[Path]] = {}
    for path in paths:
        by_size.setdefault(path.stat().st_size, []).append(path)
    for same_size in by_size.values():
        if len(same_size) < 2:  # a size held by one file needs no hash
            continue
        seen: dict[str, Path] = {}
        for path in same_size:
            digest = hashlib.sha256()
            with path.open("rb") as f:
                for block in iter(lambda f=f: f.read(8 << 20), b""):
                    digest.update(block)
            first = seen.setdefault(digest.hexdigest(), path)
            if first != path:
                raise fail(path, None, f"holds the same bytes as {first} (one log given twice would count "
                                       "its energy twice)", "pass each node's log once")


def check_options(options) -> None:
    parse_tz(options.tz)
    devices = options.devices
    if devices is not None and (isinstance(devices, bool) or not isinstance(devices, int)
                                or not 1 <= devices <= 4096):
        raise InputFileError(f"--trace-devices must be a whole number of GPUs, 1 to 4096, got {devices!r}")
    if not isinstance(options.batch_rows, int) or options.batch_rows < 1:
        raise InputFileError(f"batch_rows must be a positive whole number, got {options.batch_rows!r}")


def node_name(path: Path) -> str:
    """The node a file belongs to: its name without the log's suffixes (gpu01.csv.gz -> gpu01)."""
    name = path.name
    while True:
        lowered = name.lower()
        suffix = next((s for s in SUFFIXES if lowered.endswith(s) and len(name) > len(s)), None)
        if suffix is None:
            return name
        name = name[: -len(suffix)]


# ---------------------------------------------------------------- bytes


def codec_of(path: Path) -> str | None:
    with path.open("rb") as f:
        head = f.read(8)
    for magic, what in UNREADABLE.items():
        if head.startswith(magic):
            raise fail(path, None, f"is {what}", "extract the log, or compress it with gzip")
    return next((codec for magic, codec in CODECS.items() if head.startswith(magic)), None)


def read_head(path: Path) -> str:
    """The first SNIFF_BYTES of the file as text (decompressed); undecodable bytes replaced."""
    codec = codec_of(path)
    try:
        if codec is None:
            with path.open("rb") as f:
                data = f.read(SNIFF_BYTES)
        else:
            import pyarrow as pa

            with pa.input_stream(str(path), compression=codec) as f:
                data = f.read(SNIFF_BYTES)
    except OSError as e:
        raise fail(path, None, f"cannot be read ({str(e).splitlines()[0]})", "check the file") from e
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # PowerShell's `>` writes UTF-16
        raise fail(path, None, "is UTF-16 text",
                   "convert it to UTF-8 (or log with `| Out-File -Encoding utf8`)")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", errors="replace")


class _Counted(io.RawIOBase):
    """A file read up to `limit` bytes, adding what it reads to stats.bytes_done."""

    def __init__(self, path: Path, limit: int, stats) -> None:
        self._file, self._left, self._stats = path.open("rb"), limit, stats

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer)[: max(self._left, 0)]
        n = self._file.readinto(view) or 0
        self._left -= n
        self._stats.bytes_done += n
        return n

    def close(self) -> None:
        self._file.close()
        super().close()


def _complete_length(path: Path) -> tuple[int, bytes]:
    """Bytes up to and with the last newline, and the cut-off tail after it."""
    size = path.stat().st_size
    with path.open("rb") as f:
        start = max(0, size - (1 << 20))
        f.seek(start)
        tail = f.read()
    cut = tail.rfind(b"\n")
    if cut < 0:
        return (size, b"") if start == 0 else (start, tail)  # one line, or a line over 1 MB: refused later
    return start + cut + 1, tail[cut + 1:]


def open_stream(path: Path, stats):
    """A binary stream of the file's complete lines (decompressed), counting bytes as read."""
    codec = codec_of(path)
    if codec is not None:
        import pyarrow as pa

        return pa.CompressedInputStream(pa.PythonFile(_Counted(path, 1 << 62, stats), mode="r"), codec)
    length, tail = _complete_length(path)
    if tail.strip():
        stats.drop("truncated last line")
        stats.note("the last line has no end (the log was cut off mid-write): dropped")
    stats.bytes_done += len(tail)
    return io.BufferedReader(_Counted(path, length, stats), buffer_size=1 << 20)


def text_lines(path: Path, stats) -> Iterator[str]:
    """The file's complete lines as text, streamed; a line over MAX_LINE_CHARS (no log writes one:
    garbage, or a file without newlines) is skipped and counted, never held whole in memory."""
    with io.TextIOWrapper(open_stream(path, stats), encoding="utf-8-sig", errors="replace") as f:
        overlong = False
        while line := f.readline(MAX_LINE_CHARS):
            if overlong or not line.endswith("\n") and len(line) >= MAX_LINE_CHARS:
                if not overlong:
                    stats.drop("overlong line")
                overlong = not line.endswith("\n")
                if not overlong:
                    yield "\n"  # read as blank, so the lines after it keep their numbers
                continue
            yield line


# ---------------------------------------------------------------- time


def parse_tz(text: str):
    """A tzinfo from an IANA name (Europe/Helsinki) or an offset (+02:00, -0500, UTC+2)."""
    text = (text or "").strip()
    if text.upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    match = _OFFSET.match(text)
    if match:
        sign, hours, minutes = match[1], int(match[2]), int(match[3] or 0)
        if hours > 14 or minutes >= 60:
            raise InputFileError(f"--trace-tz {text!r} is not a UTC offset; give e.g. +02:00 or Europe/Paris")
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(delta if sign == "+" else -delta)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise InputFileError(f"--trace-tz {text!r} is no time zone; give an IANA name (Europe/Paris) "
                             "or an offset (+02:00)") from e


FALL_BACK_NS = 30 * 60 * 10**9  # the wall clock going back this much is daylight saving ending


class LocalClock:
    """Naive wall-clock times of one file in zone `tz_text` as UNIX seconds, batch after batch.

    A zone with daylight saving repeats an hour each autumn. The file is in time order, so a
    repeated wall time is placed in the first pass (summer time) until the wall clock has gone
    back (a time FALL_BACK_NS before the latest seen), and in the second pass after, until the
    clock is past the time it went back from; both are kept across batches. A wall time the
    zone skips (spring) cannot be logged, so it is refused, with the fix of a fixed offset.
    """

    def __init__(self, tz_text: str, path: Path) -> None:
        self.tz_text, self.tz, self.path = tz_text, parse_tz(tz_text), path
        self.latest_ns = -np.inf
        self.fell_from_ns = -np.inf

    def unix_s(self, naive: pd.Series, first_line: int) -> np.ndarray:
        values = pd.DatetimeIndex(naive).as_unit("ns")
        missing = values.isna()
        if isinstance(self.tz, timezone):
            ns = values.asi8.astype(np.float64) - self.tz.utcoffset(None).total_seconds() * 1e9
        else:
            ns = self._zoned_ns(values, missing, first_line)
        ns[missing] = np.nan
        return ns / 1e9

    def _zoned_ns(self, values: pd.DatetimeIndex, missing: np.ndarray, first_line: int) -> np.ndarray:
        wall = np.where(missing, -np.inf, values.asi8.astype(np.float64))  # float: no overflow at -inf
        before = np.maximum.accumulate(np.r_[self.latest_ns, wall])[:-1]  # the latest wall time so far
        self.latest_ns = max(self.latest_ns, float(wall.max()) if len(wall) else self.latest_ns)
        # where the wall clock went back, the time it went back from; the rows after it that are
        # still behind that time are the repeated hour's second pass (winter time)
        fell = np.where(before - wall > FALL_BACK_NS, before, np.nan)
        fell_from = pd.Series(np.r_[self.fell_from_ns, fell]).ffill().to_numpy()[1:]
        self.fell_from_ns = float(fell_from[-1]) if len(fell_from) else self.fell_from_ns
        summer = ~(wall <= fell_from)
        try:
            zoned = values.tz_localize(self.tz, ambiguous=summer, nonexistent="raise")
        except (ValueError, TypeError) as e:  # pandas' NonExistentTimeError
            raise fail(self.path, first_line, f"local times cannot be placed in {self.tz_text} "
                       f"({str(e).splitlines()[0]})",
                       "give --trace-tz as a fixed offset such as +02:00") from e
        return zoned.asi8.astype(np.float64)


# ---------------------------------------------------------------- numbers


_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"


def numbers(text: pd.Series, unit: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values of a text column: (values, was N/A, unreadable). `unit` ("W") may trail each value.

    In Arrow's compute kernels, not Python: a million values take milliseconds.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pc.utf8_trim_whitespace(pa.array(text, type=pa.large_string()))
    if unit:
        values = pc.replace_substring_regex(values, pattern=rf"\s*{re.escape(unit)}$", replacement="")
    na = pc.fill_null(pc.or_(pc.is_in(values, value_set=pa.array(NA_TEXT, type=pa.large_string())),
                             pc.starts_with(values, "N/A")), True)  # rocm-smi's "N/A (Secondary die)"
    number = pc.fill_null(pc.match_substring_regex(values, _NUMBER), False)
    parsed = pc.cast(pc.if_else(number, values, pa.scalar(None, pa.large_string())), pa.float64())
    parsed = pc.fill_null(parsed, np.nan).to_numpy(zero_copy_only=False)
    na = na.to_numpy(zero_copy_only=False) | pc.is_null(values).to_numpy(zero_copy_only=False)
    return parsed, na, ~number.to_numpy(zero_copy_only=False) & ~na


def strings(values, n: int) -> pd.Series:
    """A "string" column: one label broadcast to n rows, or the given labels."""
    if isinstance(values, str):
        return pd.Series(values, index=pd.RangeIndex(n), dtype="string")
    if not isinstance(values, pd.Series):
        values = np.asarray(values, dtype=object)
    return pd.Series(pd.array(values, dtype="string"), index=pd.RangeIndex(n))


def sample_frame(time_s, node, device, power_w, energy_j, source, domain="gpu") -> pd.DataFrame:
    """Batches in the record's columns and dtypes (record.SAMPLE_COLUMNS / SAMPLE_DTYPES)."""
    n = len(time_s)
    return pd.DataFrame({
        "time_s": np.asarray(time_s, dtype=np.float64),
        "node": strings(node, n),
        "device": strings(device if not isinstance(device, np.ndarray) else device.astype(str), n),
        "domain": strings(domain, n),
        "power_w": np.asarray(power_w, dtype=np.float64),
        "energy_j": np.asarray(energy_j, dtype=np.float64) if energy_j is not None else np.full(n, np.nan),
        "source": strings(source, n),
    })


def split_rows(frame: pd.DataFrame, batch_rows: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), batch_rows):
        yield frame.iloc[start:start + batch_rows].reset_index(drop=True)
