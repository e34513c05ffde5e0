"""One writer per run directory: `RUN/.lock`, held by the `olmo-green train` writing the run.

The lock is an exclusive `fcntl.flock` on RUN/.lock, held for the whole run and
released by the kernel when the process ends, however it ends (a SIGKILL leaves
no stale lock). The file holds the holder's PID and host, so a second `train`
on the same directory is refused with one line that names them.

A fresh `train` (no --resume) into a directory that already holds a run's
records is refused too, before anything is written: appending a second run to
a first one would mix their energy in one report.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import socket
import threading
from pathlib import Path

from olmo_green import record as rr
from olmo_green.errors import ConfigError, InputFileError

log = logging.getLogger(__name__)
LOCK_FILE = ".lock"
# What makes a directory a run's record (a checkpoint or not).
RECORD_NAMES = (rr.CONFIG_FILE, rr.STEPS_FILE, rr.EVENTS_FILE, rr.TELEMETRY_DIR, rr.CHECKPOINTS_DIR,
                "report.md", "report.json", "dashboard.html")


# Run directories this process holds, so a meter inside `olmo-green train` does not lock against
# its own train (flock locks of two descriptors conflict even within one process), while a second
# meter on the same directory in this process is refused (RunLock.meter marks the one writing it).
_HELD: dict[Path, RunLock] = {}
_HELD_GUARD = threading.Lock()  # meters may start from several threads


class RunLock:
    """An exclusive lock on RUN/.lock; `release` (or the process ending) frees it."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path, self._fd = path, fd
        self.meter = False  # an EnergyMeter of this process writes the run
        _HELD[path.parent.resolve()] = self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None
        if _HELD.get(self.path.parent.resolve()) is self:
            del _HELD[self.path.parent.resolve()]

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def records_in(run_dir: Path) -> list[str]:
    """Names of a run's record files that `run_dir` holds."""
    return [name for name in RECORD_NAMES if (run_dir / name).exists()] if run_dir.is_dir() else []


def check_can_write(run_dir: Path, resume: bool) -> None:
    """Refuse, without writing anything, a run directory that another train holds, or a fresh
    train into one that holds a run's records."""
    holder = _holder_if_locked(run_dir / LOCK_FILE)
    if holder is not None:
        raise ConfigError(f"{run_dir} is being written by another `olmo-green train` ({holder}); "
                          "wait for it to end, or pass another --run-dir")
    if not resume:
        found = records_in(run_dir)
        if found:
            raise ConfigError(f"{run_dir} already holds a run ({', '.join(found)}); pass --resume to "
                              "continue it, or another --run-dir")


class _MeterClaim:
    """A meter's share of a lock its process's `train` holds: release frees the share only."""

    def __init__(self, lock: RunLock) -> None:
        self._lock: RunLock | None = lock

    def release(self) -> None:
        with _HELD_GUARD:
            if self._lock is not None:
                self._lock.meter, self._lock = False, None


def hold_unless_held(run_dir: Path) -> RunLock | _MeterClaim:
    """The lock for an EnergyMeter: a share of the one its own `train` holds, else acquired and
    refused like a second train. A second meter on a run directory a meter of this process is
    writing is refused: two would write every step row twice and split the telemetry."""
    with _HELD_GUARD:
        held = _HELD.get(Path(run_dir).resolve())
        if held is not None and held.meter:
            raise ConfigError(f"{run_dir} is already written by another EnergyMeter in this process "
                              f"(pid {os.getpid()}); close that meter first, or give this one another "
                              "run_dir")
        lock = held if held is not None else acquire(Path(run_dir))
        lock.meter = True
        return _MeterClaim(lock) if held is not None else lock


def acquire(run_dir: Path) -> RunLock:
    """Create `run_dir` if needed and take its lock, held until release or process exit."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # read-only, no permission, a file in the way: the user's to fix, one line
        raise InputFileError(f"cannot create the run directory {run_dir} ({e.strerror or e}); "
                             "pass a writable --run-dir") from e
    try:
        # O_NOFOLLOW: a .lock that is a symlink (a run directory from elsewhere) is refused, never
        # followed and truncated.
        fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise InputFileError(f"{run_dir / LOCK_FILE} is a symlink; it must be a plain file: remove it "
                                 "if no train is writing this run") from e
        raise InputFileError(f"cannot write in the run directory {run_dir} ({e.strerror or e}); "
                             "pass a writable --run-dir") from e
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(fd)
        os.close(fd)
        raise ConfigError(f"{run_dir} is being written by another `olmo-green train` ({holder}); "
                          "wait for it to end, or pass another --run-dir") from None
    except OSError as e:  # a file system without flock (some network mounts): say so, go on
        if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            os.close(fd)
            raise
        log.warning("olmo-green: %s cannot be locked (%s); make sure no other train writes this run",
                    run_dir / LOCK_FILE, e.strerror)
        return RunLock(run_dir / LOCK_FILE, fd)
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()} on host {socket.gethostname()}\n".encode())
    return RunLock(run_dir / LOCK_FILE, fd)


def _holder_if_locked(path: Path) -> str | None:
    """Who holds the lock at `path`, or None if nobody does (the file is not changed)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None  # no lock file: nobody has written this run, or it is not a directory yet
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_holder(fd)
    except OSError:
        return None  # no flock on this file system: acquire() says so
    finally:
        os.close(fd)
    return None


def _read_holder(fd: int) -> str:
    text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    return text or "a process that has not written its PID yet"
