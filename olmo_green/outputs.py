"""Outputs never touch the record: an `-o` target inside a run directory's record is refused.

A run directory's record (docs/design.md, "Run records") is what every report is computed
from; `report -o RUN/steps.csv` would replace the steps with a table of themselves. The target
is resolved first (symlinks followed, as the write would follow them), then every folder above
it that holds a run is asked whether the target is one of its record files. RUN/report.md,
RUN/report.json, RUN/dashboard.html and files of the user's own beside them are fine.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

from olmo_green import record as rr
from olmo_green.errors import ConfigError
from olmo_green.fileio import write_atomic

# Names in RUN/ that are the record, or the machinery that writes it; a folder covers its content.
RECORD_PATTERNS = (rr.CONFIG_FILE, "steps.*", rr.EVENTS_FILE, rr.TELEMETRY_DIR, rr.CHECKPOINTS_DIR,
                   ".lock", "data_order.*")


def refuse_record_target(path: str | Path, what: str = "-o") -> None:
    """Raise a one-line ConfigError if `path` resolves to a file of a run's record."""
    target = Path(path).resolve()
    for run_dir in target.parents:
        if not _holds_run(run_dir):
            continue
        first = target.relative_to(run_dir).parts[0]
        if any(fnmatch.fnmatchcase(first, pattern) for pattern in RECORD_PATTERNS):
            shown = "" if target == Path(path).absolute() else f" (resolves to {target})"
            raise ConfigError(f"{what} {path}{shown} is part of the run record in {run_dir} "
                              f"({first}); outputs never replace the record: choose another file, "
                              "e.g. RUN/report.md or a path outside RUN")


def write_output(path: str | Path, text: str | bytes, what: str = "-o") -> Path:
    """Write a target the user named (-o): refused inside a run's record, else followed as `>` would."""
    refuse_record_target(path, what)
    return write_atomic(path, text, what, follow=True)


def _holds_run(folder: Path) -> bool:
    return rr.is_run_dir(folder) or (folder / ".lock").is_file()
