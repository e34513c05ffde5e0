"""Writing a report file whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from olmo_green.errors import InputFileError


def write_atomic(path: str | Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it into place.

    A crash or error part-way leaves the old file (or none), never half a report.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise InputFileError(f"{path}: folder {path.parent} does not exist; create it or choose another -o")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report_files(run_dir: str | Path, **carbon_options) -> list[Path]:
    """RUN/report.md and RUN/report.json for one run (at the end of training, or on demand)."""
    from olmo_green.reports.build import account_run
    from olmo_green.reports.formats import render

    accounts = [account_run(run_dir, **carbon_options)]
    written = []
    for fmt in ("md", "json"):
        path = Path(run_dir) / f"report.{fmt}"
        write_atomic(path, render(accounts, fmt))
        written.append(path)
    return written
