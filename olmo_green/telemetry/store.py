"""The writer side of olmo_green/runrecord.py: samples, steps and events, appended and flushed.

Samples go to <node>.open.csv, flushed every `flush_interval_s` (a SIGKILL
loses at most that much). When the open chunk holds `chunk_rows` rows it is
closed by an atomic rename to <node>.<seq>.csv and converted to Parquet on a
helper thread, so the sampler never waits for the conversion. A resumed run
(or any new writer on the same run directory) first rolls what a killed run
left behind, then continues the same record with the next sequence number.

A write that fails (a full disk, an I/O error) never reaches training: the
rows it held are dropped and tallied (`LossTally`), the file is cut back to
its last complete line, and writing resumes when the disk does. The meter
turns each tally into a `records_dropped` event, which reports print.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from olmo_green import runrecord as rr
from olmo_green.telemetry.sources.base import Reading

log = logging.getLogger(__name__)
DEFAULT_FLUSH_INTERVAL_S = 2.0
DEFAULT_CHUNK_ROWS = 1_000_000  # 8 devices at 10 Hz: about 3.5 hours a chunk


def _num(value: float) -> str:
    return "" if value is None or math.isnan(value) else repr(float(value))


def convert_chunk(csv_path: Path, parquet_path: Path) -> None:
    """A closed CSV chunk -> Parquet (written aside, then renamed), then the CSV goes."""
    frame = rr._normalise_samples(rr.read_csv_tolerant(csv_path, rr.SAMPLE_COLUMNS))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    tmp = parquet_path.with_suffix(".parquet.tmp")
    # zstd level 9 without byte-stream split was the smallest on NVML-like samples (~9 bytes a row;
    # time_s repeats once per device, so its dictionary pays).
    pq.write_table(table, tmp, compression="zstd", compression_level=9)
    os.replace(tmp, parquet_path)
    csv_path.unlink()


class LossTally:
    """Rows a writer could not write, until the meter reports them as an event."""

    def __init__(self, file: str) -> None:
        self.file = file
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.rows, self.error = 0, ""
        self.first_s: float | None = None  # time_s of the first and last lost sample, where known
        self.last_s: float | None = None

    def add(self, rows: int, error: BaseException | str, first_s: float | None = None,
            last_s: float | None = None) -> None:
        with self._lock:
            self.rows += rows
            self.error = str(error)
            if first_s is not None:
                self.first_s = first_s if self.first_s is None else min(self.first_s, first_s)
            if last_s is not None:
                self.last_s = last_s if self.last_s is None else max(self.last_s, last_s)

    def take(self) -> dict | None:
        """The `records_dropped` event fields of the rows lost since the last take, or None."""
        with self._lock:
            if not self.rows:
                return None
            event = {"kind": "records_dropped", "file": self.file, "rows": self.rows, "error": self.error,
                     "time_start_s": self.first_s, "time_end_s": self.last_s}
            self._reset()
            return event

    def give_back(self, event: dict) -> None:
        """A taken tally whose event could not be written either: report it later."""
        self.add(event["rows"], event["error"], event["time_start_s"], event["time_end_s"])


def _line_time_s(line: str) -> float | None:
    try:
        return float(line.split(",", 1)[0])
    except ValueError:
        return None


def _append_header(file, path: Path, header: str | None) -> int:
    """Write `header` to a new (empty) file; returns the file's size. On failure the file is closed."""
    start = file.tell()  # append mode: the file's size
    try:
        if header and start == 0:
            file.write(header + "\n")
            file.flush()
        return os.fstat(file.fileno()).st_size
    except OSError:
        _cut_back(file, path, start)
        raise


def _cut_back(file, path: Path, good_bytes: int) -> None:
    """Drop a file whose write failed and cut it back to its last complete line.

    Closing discards what the file object still buffered; the truncate removes a
    torn line that reached the disk, so the file never holds half a row mid-way.
    """
    with contextlib.suppress(OSError):
        if file is not None:
            file.close()
    with contextlib.suppress(OSError):
        if path.exists() and path.stat().st_size > good_bytes:
            os.truncate(path, good_bytes)


class SampleStore:
    """Appends one node's samples to its chunk series."""

    def __init__(self, run_dir: str | Path, node: str, flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
                 chunk_rows: int = DEFAULT_CHUNK_ROWS) -> None:
        self.run_dir, self.node = Path(run_dir), node
        self.flush_interval_s, self.chunk_rows = flush_interval_s, chunk_rows
        rr.telemetry_dir(run_dir).mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._converters: list[threading.Thread] = []
        self.last_time_s = self._recover()  # the record's last sample before this writer, or None
        self._seq = max(rr.sample_chunks(run_dir, node).get(node, {-1: None})) + 1
        self._buffer: list[str] = []
        self._rows = 0
        self._last_flush_s = time.monotonic()
        self.lost = LossTally(f"{rr.TELEMETRY_DIR}/{node}")
        self._closed = False
        self._good_bytes = 0  # size of the open chunk up to its last complete line
        self._file = None
        with contextlib.suppress(OSError):  # no room: the first flush retries
            self._file = self._open_chunk()

    def _recover(self) -> float | None:
        """Finish what a killed writer left: convert closed CSVs, roll the open chunk."""
        chunks = rr.sample_chunks(self.run_dir, self.node).get(self.node, {})
        for seq, path in chunks.items():
            if path.suffix == ".csv":
                convert_chunk(path, rr.chunk_path(self.run_dir, self.node, seq))
            stale = rr.closed_csv_path(self.run_dir, self.node, seq)
            if stale.exists():  # killed after the Parquet was renamed in, before the CSV went
                stale.unlink()
        open_path = rr.open_chunk_path(self.run_dir, self.node)
        if open_path.exists():
            seq = max(chunks, default=-1) + 1
            os.replace(open_path, rr.closed_csv_path(self.run_dir, self.node, seq))
            convert_chunk(rr.closed_csv_path(self.run_dir, self.node, seq),
                          rr.chunk_path(self.run_dir, self.node, seq))
        return self._last_time_s()

    def _last_time_s(self) -> float | None:
        """The newest sample already recorded: only the last chunk is read, not a month of them."""
        chunks = rr.sample_chunks(self.run_dir, self.node).get(self.node, {})
        for seq in sorted(chunks, reverse=True):
            times = pq.read_table(chunks[seq], columns=["time_s"]).column("time_s")
            if len(times):
                return float(pc.max(times).as_py())
        return None

    def _open_chunk(self):
        path = rr.open_chunk_path(self.run_dir, self.node)
        self._good_bytes = _append_header(f := open(path, "a", encoding="utf-8"), path,  # noqa: SIM115
                                          ",".join(rr.SAMPLE_COLUMNS))
        return f

    def append(self, readings: list[Reading]) -> None:
        lines = [f"{r.time_s!r},{self.node},{r.device},{r.domain},{_num(r.power_w)},{_num(r.energy_j)},"
                 f"{r.source}\n" for r in readings]
        with self._lock:
            self._buffer += lines
            if time.monotonic() - self._last_flush_s >= self.flush_interval_s:
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        self._last_flush_s = time.monotonic()
        if self._closed or not self._buffer:
            return
        lines, self._buffer = self._buffer, []
        try:
            if self._file is None:  # a write failed before: reopen now the disk may have room
                self._file = self._open_chunk()
            self._file.write("".join(lines))
            self._file.flush()  # to the kernel: survives a SIGKILL of this process
            self._good_bytes = os.fstat(self._file.fileno()).st_size
        except OSError as e:  # a full disk: these rows are lost, counted, and training goes on
            self.lost.add(len(lines), e, _line_time_s(lines[0]), _line_time_s(lines[-1]))
            self._file, file = None, self._file
            _cut_back(file, rr.open_chunk_path(self.run_dir, self.node), self._good_bytes)
            return
        self._rows += len(lines)
        if self._rows >= self.chunk_rows:
            self._roll_locked(background=True)

    def _roll_locked(self, background: bool) -> None:
        self._file.close()
        self._file = None
        closed = rr.closed_csv_path(self.run_dir, self.node, self._seq)
        os.replace(rr.open_chunk_path(self.run_dir, self.node), closed)
        parquet = rr.chunk_path(self.run_dir, self.node, self._seq)
        self._seq, self._rows, self._good_bytes = self._seq + 1, 0, 0
        if background:
            thread = threading.Thread(target=convert_chunk, args=(closed, parquet), daemon=True)
            thread.start()
            self._converters.append(thread)
            with contextlib.suppress(OSError):  # no room for a new chunk: the next flush retries
                self._file = self._open_chunk()
        else:
            convert_chunk(closed, parquet)

    def close(self) -> None:
        """Flush, roll the open chunk to Parquet and wait for conversions; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._flush_locked()
            self._closed = True
            try:
                if self._file is not None:
                    self._roll_locked(background=False)
            except OSError as e:  # the closed CSV stays, read like a chunk; the next writer converts it
                log.warning("telemetry: cannot convert the last sample chunk (%s); kept as CSV", e)
        for thread in self._converters:
            thread.join()


class LineLog:
    """An append-only text file, flushed on every line (steps and events are rare)."""

    def __init__(self, path: Path, header: str | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.header = path, header
        self.lost = LossTally(path.name)
        self._lock = threading.Lock()
        self._closed = False
        self._good_bytes = 0
        self._file = None
        with self._lock, contextlib.suppress(OSError):  # no room: the first write retries
            self._open_locked()

    def _open_locked(self) -> None:
        file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        self._good_bytes = _append_header(file, self.path, self.header)
        self._file = file

    def write(self, line: str, tally: bool = True) -> bool:
        """Append one line; False when it could not be written (then tallied as lost, if `tally`)."""
        with self._lock:
            if self._closed:
                return False
            try:
                if self._file is None:
                    self._open_locked()
                self._file.write(line + "\n")
                self._file.flush()
                self._good_bytes = os.fstat(self._file.fileno()).st_size
                return True
            except OSError as e:  # a full disk must not stop training: count the line, go on
                if tally:
                    self.lost.add(1, e)
                self._file, file = None, self._file
                _cut_back(file, self.path, self._good_bytes)
                return False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._file is not None:
                with contextlib.suppress(OSError):
                    self._file.close()


class EventLog(LineLog):
    def __init__(self, run_dir: str | Path, node: str) -> None:
        super().__init__(Path(run_dir) / rr.EVENTS_FILE)
        self.node = node

    def append(self, event: dict, tally: bool = True) -> bool:
        return self.write(json.dumps({"node": self.node, **event}, default=str), tally)


class StepLog(LineLog):
    def __init__(self, run_dir: str | Path) -> None:
        super().__init__(Path(run_dir) / rr.STEPS_FILE, header=",".join(rr.STEP_COLUMNS))

    def append(self, row: dict) -> None:
        self.write(",".join(_cell(row.get(c)) for c in rr.STEP_COLUMNS))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return _num(value)
    return str(value)

