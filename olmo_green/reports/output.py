"""Writing a report file whole or not at all."""

from __future__ import annotations

from pathlib import Path

from olmo_green.fileio import write_atomic  # the one writer of every report and -o file


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
