"""Writing a report file whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from olmo_green.errors import InputFileError


def write_atomic(path: str | Path, text: str, what: str = "-o") -> Path:
    """Write `text` to a temporary file beside `path`, then rename it into place; return `path`.

    A crash or error part-way leaves the old file (or none), never half a file. The
    file gets the usual permissions (0644 under umask 022), not mkstemp's private 0600.
    A target that cannot be written is one line naming it (`what`: the flag that chose it).
    """
    path = Path(path)
    if path.is_dir():
        raise InputFileError(f"{path} is a directory; give {what} a file name (a file inside it)")
    if not path.parent.is_dir():
        raise InputFileError(f"{path}: folder {path.parent} does not exist; "
                             f"create it or choose another {what}")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise _unwritable(path, e, what) from e
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), 0o666 & ~_umask())
            f.write(text)
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise _unwritable(path, e, what) from e
        raise
    return path


def _unwritable(path: Path, error: OSError, what: str) -> InputFileError:
    return InputFileError(f"cannot write {path} ({error.strerror or error}); "
                          f"choose a writable {what} or free some space")


def _umask() -> int:
    """The process's umask, read without changing it (Linux), else by setting it back at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_report_files(run_dir: str | Path, **carbon_options) -> list[Path]:
    """RUN/report.md and RUN/report.json for one run (at the end of training, or on demand)."""
    from olmo_green.reports.build import account_run
    from olmo_green.reports.formats import render

    accounts = [account_run(run_dir, **carbon_options)]
    written = []
    for fmt in ("md", "json"):
        path = Path(run_dir) / f"report.{fmt}"
        written.append(write_atomic(path, render(accounts, fmt), what="run directory"))
    return written
