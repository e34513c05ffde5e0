"""Append-only record files of one line a row: steps.csv and events.jsonl.

Both the telemetry layer (EnergyMeter) and the trainer's step-row callback
(model/steprows.py) write through these classes, so a step row is written one
way whoever writes it. Each line is flushed as it is written: a SIGKILL loses
at most the line in flight, and readers drop a torn last line.

A write that fails (a full disk, an I/O error) never reaches training: the
line is dropped and tallied (`LossTally`), the file is cut back to its last
complete line, and writing resumes when the disk does. The meter turns each
tally into a `records_dropped` event, which reports print.

Attempts: each process that opens steps.csv to write is one attempt of the
run, numbered 0, 1, 2, ... in the `attempt` column. A resumed run appends;
the rows it redoes stay (their energy was really spent) and
`record.superseded_steps` tells them apart without a heuristic.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import threading
from pathlib import Path

from olmo_green.fileio import replacing
from olmo_green.record.events import EVENT_RECORDS_DROPPED
from olmo_green.record.layout import EVENTS_FILE, STEPS_FILE
from olmo_green.record.steps import STEP_COLUMNS, read_steps, window_mfu


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
            event = {"kind": EVENT_RECORDS_DROPPED, "file": self.file, "rows": self.rows,
                     "error": self.error, "time_start_s": self.first_s, "time_end_s": self.last_s}
            self._reset()
            return event

    def give_back(self, event: dict) -> None:
        """A taken tally whose event could not be written either: report it later."""
        self.add(event["rows"], event["error"], event["time_start_s"], event["time_end_s"])


def append_header(file, path: Path, header: str | None) -> int:
    """Write `header` to a new (empty) file; returns the file's size. On failure the file is closed."""
    start = file.tell()  # append mode: the file's size
    try:
        if header and start == 0:
            file.write(header + "\n")
            file.flush()
        return os.fstat(file.fileno()).st_size
    except OSError:
        cut_back(file, path, start)
        raise


def cut_back(file, path: Path, good_bytes: int) -> None:
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


def number_text(value: float | None) -> str:
    """A float as CSV text: repr round-trips exactly; NaN and None are empty (unknown)."""
    return "" if value is None or math.isnan(value) else repr(float(value))


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
        self._good_bytes = append_header(file, self.path, self.header)
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
                cut_back(file, self.path, self._good_bytes)
                return False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._file is not None:
                with contextlib.suppress(OSError):
                    self._file.close()


class EventLog(LineLog):
    def __init__(self, run_dir: str | Path, node: str) -> None:
        super().__init__(Path(run_dir) / EVENTS_FILE)
        self.node = node

    def append(self, event: dict, tally: bool = True) -> bool:
        return self.write(json.dumps({"node": self.node, **event}, default=str), tally)


class StepLog(LineLog):
    """steps.csv: one row per step or phase window, stamped with this writer's attempt."""

    def __init__(self, run_dir: str | Path) -> None:
        path = Path(run_dir) / STEPS_FILE
        self.attempt = _next_attempt(path)
        super().__init__(path, header=",".join(STEP_COLUMNS))

    def append(self, row: dict) -> None:
        """Write one row; `mfu` is computed here from the row's window (record.window_mfu)."""
        row = {**row, "attempt": self.attempt, "mfu": window_mfu(row)}
        self.write(",".join(_cell(row.get(c)) for c in STEP_COLUMNS))


def _next_attempt(path: Path) -> int:
    """The attempt number of a new writer: one past the file's last, 0 for a new file.

    A file from before the `attempt` column is rewritten with it first (its rows are
    attempt 0), so every row of the file has the same columns.
    """
    if not path.exists() or path.stat().st_size == 0:
        return 0
    with path.open(encoding="utf-8") as f:
        header = f.readline().strip()
    if header != ",".join(STEP_COLUMNS):
        _upgrade_columns(path, header.split(","))
    rows = read_steps(path.parent)
    return int(rows["attempt"].max()) + 1 if len(rows) else 0


def _upgrade_columns(path: Path, old: list[str]) -> None:
    """Rewrite a steps.csv of older columns with today's, cell text kept as written (an integer
    stays "5", not "5.0"). A row that does not fit its header (torn by a kill, garbage) is kept
    as it was, so the reader still drops it and the report still counts it."""
    with path.open(encoding="utf-8", newline="") as f:
        lines = f.read().splitlines()[1:]
    defaults = {"attempt": "0"}  # rows from before the column are the first attempt's
    with replacing(path) as tmp:  # mkstemp beside it: never writes through a planted link
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(STEP_COLUMNS)
            for line in lines:
                cells = next(csv.reader([line]), [])
                if len(cells) == len(old):
                    by_name = dict(zip(old, cells, strict=True))
                    writer.writerow([by_name.get(c, defaults.get(c, "")) for c in STEP_COLUMNS])
                else:
                    out.write(line + "\n")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return number_text(value)
    return str(value)
