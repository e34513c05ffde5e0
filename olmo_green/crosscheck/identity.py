"""A run is known by what it recorded, not by the path it was named by.

The same run given twice to `report` (twice, through a symlink, or as a copied
folder) would be counted twice in a total or a `--by` rollup. A run's identity
is config.yaml's `run_id` where the record has one, else the content hash
(duplicates.content_hash) of its first node's first chunk: samples carry
wall-clock times to the microsecond, so two runs never share them, and a copy
or a second name of a run always does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from olmo_green import runrecord as rr
from olmo_green.crosscheck.duplicates import content_hash


def run_identity(run_dir: str | Path) -> str:
    """The run's id: its recorded run_id, its first samples' hash, or (no samples) its real path."""
    run_dir = Path(run_dir)
    try:
        config = yaml.safe_load((run_dir / rr.CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeError):
        config = None
    if isinstance(config, dict) and config.get("run_id"):
        return f"run_id:{config['run_id']}"
    for paths in rr.chunk_listing(run_dir).values():
        for path in paths[:1]:
            try:
                samples, _ = rr.read_sample_chunk(path)
            except (OSError, ValueError, UnicodeError):
                break
            if len(samples):
                return f"samples:{content_hash(samples)}"
        break
    return f"path:{run_dir.resolve()}"


def distinct_runs(run_dirs: Sequence[str | Path]) -> tuple[list[str | Path], list[str]]:
    """The runs in the order given, each once, and one line per run named again."""
    seen: dict[str, str | Path] = {}
    kept, repeated = [], []
    for run_dir in run_dirs:
        identity = run_identity(run_dir) if rr.is_run_dir(run_dir) else f"path:{Path(run_dir).resolve()}"
        if identity in seen:
            repeated.append(f"{run_dir}: the same run as {seen[identity]} (same recorded samples); "
                            "counted once")
            continue
        seen[identity] = run_dir
        kept.append(run_dir)
    return kept, repeated
