"""The writer side of olmo_green/record/ for samples: chunks appended, flushed and rolled.

Samples go to <node>.open.csv, flushed every `flush_interval_s` (a SIGKILL
loses at most that much). When the open chunk holds `chunk_rows` rows it is
closed by an atomic rename to <node>.<seq>.csv and converted to Parquet on a
helper thread, so the sampler never waits for the conversion. A resumed run
(or any new writer on the same run directory) first rolls what a killed run
left behind, then continues the same record with the next sequence number.

A write that fails (a full disk, an I/O error) never reaches training: the
rows it held are dropped and tallied, as olmo_green/linelog.py does for steps
and events (that module also holds the step and event writers).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from pathlib import Path

from olmo_green import record as rr
from olmo_green.record.linelog import LossTally, append_header, cut_back, number_text
from olmo_green.record.options import DEFAULT_FLUSH_INTERVAL_S
from olmo_green.record.summaries import ChunkId, load_node, save_node
from olmo_green.summaries.build import summarise_chunk
from olmo_green.summaries.record import SummarySettings
from olmo_green.telemetry.sources.base import Reading

log = logging.getLogger(__name__)
DEFAULT_CHUNK_ROWS = 1_000_000  # 8 devices at 10 Hz: about 3.5 hours a chunk


def _line_time_s(line: str) -> float | None:
    try:
        return float(line.split(",", 1)[0])
    except ValueError:
        return None


class SampleStore:
    """Appends one node's samples to its chunk series, and summarises each chunk it closes."""

    def __init__(self, run_dir: str | Path, node: str, flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
                 chunk_rows: int = DEFAULT_CHUNK_ROWS, summaries: SummarySettings | None = None,
                 mark: int = rr.CHUNK_FORMAT) -> None:
        self.run_dir, self.node = Path(run_dir), node
        self.mark = mark  # stamped in each chunk: what the node's sensors event promises (record/chunks.py)
        self.flush_interval_s, self.chunk_rows = flush_interval_s, chunk_rows
        self.summaries = summaries or SummarySettings()
        rr.telemetry_dir(run_dir).mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._summary_lock = threading.Lock()  # converter threads and close() update one file
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
                self._convert(path, rr.chunk_path(self.run_dir, self.node, seq))
            stale = rr.closed_csv_path(self.run_dir, self.node, seq)
            if stale.exists():  # killed after the Parquet was renamed in, before the CSV went
                stale.unlink()
        open_path = rr.open_chunk_path(self.run_dir, self.node)
        if open_path.exists():
            seq = max(chunks, default=-1) + 1
            os.replace(open_path, rr.closed_csv_path(self.run_dir, self.node, seq))
            self._convert(rr.closed_csv_path(self.run_dir, self.node, seq),
                          rr.chunk_path(self.run_dir, self.node, seq))
        return self._last_time_s()

    def _last_time_s(self) -> float | None:
        """The newest sample already recorded: only the last chunk is read, not a month of them."""
        chunks = rr.sample_chunks(self.run_dir, self.node).get(self.node, {})
        for seq in sorted(chunks, reverse=True):
            last_s = rr.last_sample_time_s(chunks[seq])
            if last_s is not None:
                return last_s
        return None

    def _open_chunk(self):
        path = rr.open_chunk_path(self.run_dir, self.node)
        self._good_bytes = append_header(f := open(path, "a", encoding="utf-8"), path,  # noqa: SIM115
                                          ",".join(rr.SAMPLE_COLUMNS))
        return f

    def append(self, readings: list[Reading]) -> None:
        lines = [f"{r.time_s!r},{self.node},{r.device},{r.domain},{number_text(r.power_w)},"
                 f"{number_text(r.energy_j)},{r.source}\n" for r in readings]
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
            cut_back(file, rr.open_chunk_path(self.run_dir, self.node), self._good_bytes)
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
            thread = threading.Thread(target=self._convert, args=(closed, parquet), daemon=True)
            thread.start()
            self._converters.append(thread)
            with contextlib.suppress(OSError):  # no room for a new chunk: the next flush retries
                self._file = self._open_chunk()
        else:
            self._convert(closed, parquet, raise_errors=True)

    def _convert(self, closed: Path, parquet: Path, raise_errors: bool = False) -> None:
        """Convert a closed chunk and summarise it; a failure leaves the CSV, read like a chunk."""
        try:
            frame, bad_rows = rr.convert_chunk(closed, parquet, self.mark)
        except (OSError, ValueError) as e:
            if raise_errors:
                raise
            log.warning("telemetry: cannot convert %s (%s); kept as CSV, summarised when read", closed, e)
            return
        summary = summarise_chunk(frame, self.summaries.bucket_s, self.summaries.max_gap_s,
                                  gpu_limit_w=self.summaries.gpu_limit_w)
        summary.bad_rows, summary.chunk_format = bad_rows, self.mark
        with self._summary_lock:
            try:
                chunk = ChunkId.of(parquet, self.summaries.bucket_s, self.summaries.max_gap_s)
            except OSError:
                return  # the chunk went meanwhile: nothing to summarise
            stored = load_node(self.run_dir, self.node)
            stored.put(chunk, summary)
            if not save_node(self.run_dir, self.node, stored):
                log.warning("telemetry: cannot write the summary of %s; a report will build it", parquet)

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
