"""The writer side of olmo_green/runrecord.py: samples, steps and events, appended and flushed.

Samples go to <node>.open.csv, flushed every `flush_interval_s` (a SIGKILL
loses at most that much). When the open chunk holds `chunk_rows` rows it is
closed by an atomic rename to <node>.<seq>.csv and converted to Parquet on a
helper thread, so the sampler never waits for the conversion. A resumed run
(or any new writer on the same run directory) first rolls what a killed run
left behind, then continues the same record with the next sequence number.
"""

from __future__ import annotations

import json
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
        f = open(rr.open_chunk_path(self.run_dir, self.node), "a", encoding="utf-8")  # noqa: SIM115
        if f.tell() == 0:
            f.write(",".join(rr.SAMPLE_COLUMNS) + "\n")
            f.flush()
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
        if self._file is None:
            return
        if self._buffer:
            self._file.write("".join(self._buffer))
            self._file.flush()  # to the kernel: survives a SIGKILL of this process
            self._rows += len(self._buffer)
            self._buffer = []
        self._last_flush_s = time.monotonic()
        if self._rows >= self.chunk_rows:
            self._roll_locked(background=True)

    def _roll_locked(self, background: bool) -> None:
        self._file.close()
        closed = rr.closed_csv_path(self.run_dir, self.node, self._seq)
        os.replace(rr.open_chunk_path(self.run_dir, self.node), closed)
        parquet = rr.chunk_path(self.run_dir, self.node, self._seq)
        self._seq, self._rows = self._seq + 1, 0
        if background:
            thread = threading.Thread(target=convert_chunk, args=(closed, parquet), daemon=True)
            thread.start()
            self._converters.append(thread)
            self._file = self._open_chunk()
        else:
            convert_chunk(closed, parquet)
            self._file = None

    def close(self) -> None:
        """Flush, roll the open chunk to Parquet and wait for conversions; safe to call twice."""
        with self._lock:
            if self._file is None:
                return
            self._file.write("".join(self._buffer))
            self._buffer = []
            self._roll_locked(background=False)
        for thread in self._converters:
            thread.join()


class LineLog:
    """An append-only text file, flushed on every line (steps and events are rare)."""

    def __init__(self, path: Path, header: str | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115
        if header and self._file.tell() == 0:
            self.write(header)

    def write(self, line: str) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.write(line + "\n")
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


class EventLog(LineLog):
    def __init__(self, run_dir: str | Path, node: str) -> None:
        super().__init__(Path(run_dir) / rr.EVENTS_FILE)
        self.node = node

    def append(self, event: dict) -> None:
        self.write(json.dumps({"node": self.node, **event}, default=str))


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

