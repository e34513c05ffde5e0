"""A run is known by its record, not by the words it was named with.

The same run given twice to `report` (twice, as `run` and `./run/`, through a symlink or a
bind mount, or as a copy of its folder: `cp -r run run2`) would be counted twice in a total or
a `--by` rollup. A run is known three ways, each enough to make two inputs one run:

- its folder (device and inode: what every name of it resolves to);
- its id: config.yaml's `run_id`, written once when the record is created and kept on resume;
- its content: the set of its telemetry chunks' content hashes (crosscheck/duplicates.py), so
  a copy whose id was removed or edited, or a record older than run ids, still counts once.

Two records with the same run_id but different telemetry (a config.yaml copied into a new run),
or that share some chunks but not all (a copy taken before the run went on), are never merged
and never both counted: the command line is a finding the report refuses.

Whole-chunk hashes miss a copy whose chunk was cut to a prefix, a suffix or a slice, or
re-sorted (another hash), with its run_id removed. So inputs that are not one run are also
compared in time (overlap.py): each chunk's span of each device is collected in the same walk
of the summaries as the hashes, and two inputs holding one device over the same time are
refused where they share samples (a copy) or measured one physical device twice
(samedevice.py); two simulated runs at once on one machine both count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from olmo_green import record as rr
from olmo_green.errors import ConfigError, GreenError
from olmo_green.record.config import RunConfig
from olmo_green.summaries.overlap import SPAN_COLUMNS, chunk_spans, joined_spans, overlap_findings
from olmo_green.summaries.record import record_settings, summarised_chunks


@dataclass(frozen=True)
class RunIdentity:
    """The three ways a run is known; `run_id` is None where the record lacks one, `content`
    (its chunks' hashes) is empty where it holds no hashed telemetry."""

    folder: str
    run_id: str | None
    content: frozenset[str]
    # Each chunk's span in time of each (node, device, domain): overlap.SPAN_COLUMNS.
    spans: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SPAN_COLUMNS),
                                compare=False, repr=False)


def run_identity(run_dir: str | Path) -> RunIdentity:
    content, spans = _content(run_dir)
    return RunIdentity(_folder(Path(run_dir)), _run_id(run_dir), content, spans)


def _folder(run_dir: Path) -> str:
    """The folder's device and inode (else its real path): a run named twice, or once more
    through a symlink, is one folder."""
    try:
        stat = run_dir.stat()
    except OSError:
        return f"path:{run_dir.resolve()}"
    return f"folder:{stat.st_dev}:{stat.st_ino}"


def _run_id(run_dir: str | Path) -> str | None:
    try:
        config = RunConfig.load(run_dir)
    except GreenError:  # a broken config.yaml is named where the report reads it (one line)
        return None
    return config.run_id if config is not None else None


def content_identity(run_dir: str | Path) -> frozenset[str]:
    """The record's chunk hashes (from the chunk summaries, built and saved where missing, as
    the report would); empty for a record without hashed telemetry."""
    return _content(run_dir)[0]


def _content(run_dir: str | Path) -> tuple[frozenset[str], pd.DataFrame]:
    """The chunk hashes, and each chunk's device spans, from one walk of the summaries."""
    if not Path(run_dir).is_dir():
        return frozenset(), pd.DataFrame(columns=SPAN_COLUMNS)
    settings = record_settings(run_dir)
    hashes: set[str] = set()
    spans = []
    for node, paths in rr.chunk_listing(run_dir).items():
        devices = summarised_chunks(run_dir, node, settings, True, paths).devices
        if "chunk_hash" in devices:
            hashes |= {str(h) for h in devices["chunk_hash"].dropna() if h}
        spans.append(chunk_spans(devices, paths))
    return frozenset(hashes), joined_spans(spans)


def distinct_runs(run_dirs: Sequence[str | Path],
                  refuse: bool = True) -> tuple[list[str | Path], list[str]]:
    """The runs in the order given, each once, and one line per input left out (and why).

    Two inputs that are neither one run nor two (one run_id on different telemetry, or some
    chunks shared and not all): with `refuse` a ConfigError (no total can be right); without
    it (`--verify`) both are kept and the line is among the returned ones."""
    kept: list[tuple[str | Path, RunIdentity]] = []
    lines = []
    for run_dir in run_dirs:
        identity = run_identity(run_dir)
        same, why = _same_as(identity, kept)
        if same is not None and why is not None:
            position = next(i for i, (other, _) in enumerate(kept) if other is same)
            if identity.content and not kept[position][1].content:  # keep the input holding the telemetry
                lines.append(f"{same}: the same run as {run_dir} ({why}); counted once")
                kept[position] = (run_dir, identity)
            else:
                lines.append(f"{run_dir}: the same run as {same} ({why}); counted once")
            continue
        clash = next((f"{run_dir} and {other} {why}" for other, seen in kept
                      if (why := _clash(identity, seen)) is not None), None)
        if clash is not None:
            if refuse:
                raise ConfigError(clash)
            lines.append(clash)
        kept.append((run_dir, identity))
    for line in _overlaps(kept):
        if refuse:
            raise ConfigError(line)
        lines.append(line)
    return [run_dir for run_dir, _ in kept], lines


def _overlaps(kept: list[tuple[str | Path, RunIdentity]]) -> list[str]:
    """Inputs holding one device over the same time (overlap.py), but for pairs named already."""
    return overlap_findings([d for d, _ in kept], [i.spans for _, i in kept],
                            lambda a, b: _clash(kept[b][1], kept[a][1]) is not None)


def _same_as(identity: RunIdentity,
             kept: list[tuple[str | Path, RunIdentity]]) -> tuple[str | Path | None, str | None]:
    """The kept input that is this run, and how it is known; (None, None) if none."""
    for other, seen in kept:
        if identity.folder == seen.folder:
            return other, "the same folder"
        if identity.content and identity.content == seen.content:
            if identity.run_id == seen.run_id:
                return other, "a copy: the same run_id and telemetry" if identity.run_id else \
                    "a copy: the same telemetry"
            return other, "the same telemetry; its run_id is missing or differs"
        if identity.run_id is not None and identity.run_id == seen.run_id and \
                not (identity.content and seen.content):
            return other, "the same run_id; no telemetry to compare"
    return None, None


def _clash(identity: RunIdentity, seen: RunIdentity) -> str | None:
    """Why two inputs (not one run) cannot both be counted; None if they can."""
    shared = len(identity.content & seen.content)
    if shared:  # equal sets are one run (_same_as): these share some samples, not all
        return (f"share {shared} telemetry chunk(s) but not all (a copy taken before the run went on, "
                "or chunks copied between runs): their samples would count twice; report one of them")
    if identity.run_id is not None and identity.run_id == seen.run_id and identity.content and seen.content:
        return (f"carry the same run_id ({identity.run_id}) but different telemetry: two runs claiming "
                f"one id (a config.yaml copied into a new run); not merged. Give each run its own run_id "
                f"in its {rr.CONFIG_FILE}")
    return None
