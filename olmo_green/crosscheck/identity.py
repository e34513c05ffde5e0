"""A run is known by its record, not by the words it was named with.

The same run given twice to `report` (twice, as `run` and `./run/`, through a
symlink or a bind mount) would be counted twice in a total or a `--by` rollup.
A run's identity is config.yaml's `run_id` where the record has one, else the
folder itself (its device and inode, what every name of it resolves to). A
copied folder is another record and counts as one: test fixtures and
what-if copies hold the same samples on purpose, and its chunks say nothing
of which copy is the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def run_identity(run_dir: str | Path) -> str:
    """The run's id: the folder's device and inode (else its real path), so a run named twice,
    or once more through a symlink, is one run. A copied folder is another run."""
    run_dir = Path(run_dir)
    try:
        stat = run_dir.stat()
    except OSError:
        return f"path:{run_dir.resolve()}"
    return f"folder:{stat.st_dev}:{stat.st_ino}"


def distinct_runs(run_dirs: Sequence[str | Path]) -> tuple[list[str | Path], list[str]]:
    """The runs in the order given, each once, and one line per run named again."""
    seen: dict[str, str | Path] = {}
    kept, repeated = [], []
    for run_dir in run_dirs:
        identity = run_identity(run_dir)
        if identity in seen:
            repeated.append(f"{run_dir}: the same run as {seen[identity]} ({identity.split(':')[0]}); "
                            "counted once")
            continue
        seen[identity] = run_dir
        kept.append(run_dir)
    return kept, repeated
