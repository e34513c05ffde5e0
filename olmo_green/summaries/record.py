"""A node's chunks, each with a summary that is current: stored, or built now.

A chunk without a usable stored summary (none yet, changed since, another
setting, a corrupt file, domain rows that contradict the chunk's own device
rows: summaries/domainrows.py) is read once and summarised with summaries/build.py;
the result is saved where the record is writable, so the next report reads
only summaries. A chunk that cannot be read at all is named, left out, and
reported: its node's energy is then incomplete.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green import record as rr
from olmo_green.checks import gpu_limit_w
from olmo_green.crosscheck.settings import judged_interval
from olmo_green.errors import GreenError
from olmo_green.integrate import GAP_FACTOR
from olmo_green.record import RunConfig
from olmo_green.record.summaries import ChunkId, NodeSummaries, load_node, save_node
from olmo_green.summaries.build import DEFAULT_BUCKET_S, ChunkSummary, empty_chunk_row, summarise_chunk
from olmo_green.summaries.domainrows import inconsistent_chunks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SummarySettings:
    """How a record's chunks are summarised; stored with each summary."""

    bucket_s: float = DEFAULT_BUCKET_S
    # Intervals longer than this are gaps. From the run's sampling interval where the
    # config says it, so every chunk (and a re-integration of all samples) uses one
    # threshold; None: each chunk's own median interval decides (a foreign record).
    max_gap_s: float | None = None
    # Where config.yaml's sampling interval contradicts the chunks' (crosscheck/settings.py): the
    # finding, the chunks' interval having been used instead. Not part of a summary's identity.
    contradiction: str | None = field(default=None, compare=False)
    # An honest sampler slower than asked (a `sampling` event the chunks agree with): a report note.
    sampling_note: str | None = field(default=None, compare=False)
    # An accelerator's power above this is no measurement (checks.gpu_limit_w of the run's profile):
    # dropped as the sampler drops it. Not part of a summary's identity: a meter's own summaries
    # never saw such a value, and a chunk edited since is summarised again anyway.
    gpu_limit_w: float | None = field(default=None, compare=False)
    # How often the meter flushed samples (config.yaml's telemetry.flush_interval_s; None: not
    # stated): the most a kill can lose at a record's end (crosscheck/windows.py).
    flush_s: float | None = field(default=None, compare=False)


def record_settings(run_dir: str | Path) -> SummarySettings:
    """The settings of a run: its config.yaml's telemetry section, else the defaults."""
    try:
        config = RunConfig.load(run_dir)
    except GreenError:
        config = None  # the report names a broken config where it reads the profile (one line)
    if config is None:
        return SummarySettings()
    # Only what the file says: without a sampling interval each chunk's own median decides
    # (a record of another tool, or of a version that did not store it), not the default 0.1 s.
    interval_s = config.value("telemetry.sampling_interval_s")
    bucket_s = config.value("telemetry.summary_bucket_s") or DEFAULT_BUCKET_S
    verdict = judged_interval(run_dir, interval_s)
    return SummarySettings(bucket_s, GAP_FACTOR * verdict.interval_s if verdict.interval_s else None,
                           verdict.finding, verdict.note, _gpu_limit_w(config, run_dir),
                           _positive(config.value("telemetry.flush_interval_s")))


def _positive(value: object) -> float | None:
    """A positive finite number as a float; None for anything else (not stated, or not a number)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if number and math.isfinite(value) and value > 0 else None


def _gpu_limit_w(config: RunConfig, run_dir: str | Path) -> float | None:
    """The most power the run's accelerators may show (None where config.yaml names no profile
    or one the report refuses: it says so where it reads the profile)."""
    try:
        profile = config.profile(str(Path(run_dir) / rr.CONFIG_FILE))
    except GreenError:
        return None
    return gpu_limit_w(profile) if profile is not None else None


@dataclass
class NodeChunks:
    """A node's current summaries (frames in chunk order), and what could not be read."""

    node: str
    devices: pd.DataFrame  # build.DEVICE_COLUMNS + `order` (the chunk's place in time)
    domains: pd.DataFrame  # build.DOMAIN_COLUMNS
    buckets: pd.DataFrame | None = None  # build.BUCKET_COLUMNS, when asked for (the dashboard)
    unreadable: list[str] = field(default_factory=list)  # "file: why", one per chunk left out
    bad_rows: int = 0  # rows skipped inside readable chunks (torn or garbled lines)
    built: int = 0  # chunks summarised now rather than read from stored summaries
    distrusted: list[str] = field(default_factory=list)  # "file: why", stored summaries that contradicted
    # themselves (summaries/domainrows.py) and were summarised again from their chunk
    implausible: dict[str, int] = field(default_factory=dict)  # chunk -> accelerator power values
    # above the profile's limit, dropped (summaries/build.py)
    chunk_format: int = 1  # the highest mark among the node's chunks (record/chunks.py)


def summarised_chunks(run_dir: str | Path, node: str, settings: SummarySettings, save: bool = True,
                      paths: list[Path] | None = None, with_buckets: bool = False,
                      as_stored: bool = False) -> NodeChunks:
    """Every chunk of `node` with a current summary; saves new ones where it can.

    `paths`: the node's chunks in time order when the caller listed the record already;
    `as_stored`: keep a stored summary that contradicts itself (--verify compares it with the
    chunk, and names what differs).
    """
    kinds = ("devices", "domains", "buckets") if with_buckets else ("devices", "domains")
    stored = load_node(run_dir, node, kinds)
    if stored.unreadable:
        log.warning("olmo-green: summaries %s unreadable; rebuilding them from the chunks", stored.unreadable)
    distrusted = [] if as_stored else _distrust_inconsistent(stored, node, run_dir)
    unreadable, built, order = [], 0, {}
    for path in rr.node_chunk_paths(run_dir, node) if paths is None else paths:
        chunk = _identify(path, settings)
        if chunk is None:
            if path.is_symlink():  # a link to a missing file: unreadable, not converted meanwhile
                unreadable.append(f"{path.name}: a link to a missing file")
            continue  # gone since the listing: converted to Parquet meanwhile, listed again below
        if not stored.has(chunk):
            summary = _build(path, settings, node, unreadable)
            if summary is None:
                continue
            stored.put(chunk, summary)
            built += 1
        order[chunk.name] = len(order)
    stored.keep_only(set(order))
    # A chunk that cannot be read now keeps its stored summary on disk: it may be the only copy left
    # of that chunk's figures (a report must never destroy part of a record). A summary that
    # contradicts itself stays on disk too, as found: every report notes it, --verify names it.
    if save and stored.changed and not unreadable and not distrusted:
        save_node(run_dir, node, stored)  # False on a read-only record: the summaries stay in memory
    devices = stored.frame("devices")
    devices = devices.assign(order=devices["chunk"].map(order).astype("int64"))
    first_rows = devices.drop_duplicates("chunk")
    return NodeChunks(node, devices, stored.frame("domains"),
                      stored.frame("buckets") if with_buckets else None, unreadable,
                      int(first_rows["chunk_bad_rows"].sum()) if len(first_rows) else 0, built,
                      distrusted, _implausible(first_rows), _chunk_format(first_rows))


def _implausible(first_rows: pd.DataFrame) -> dict[str, int]:
    """Per chunk, the power values its summary dropped (none in summaries stored before the count)."""
    if not len(first_rows) or "chunk_implausible" not in first_rows:
        return {}
    counts = pd.to_numeric(first_rows["chunk_implausible"], errors="coerce").fillna(0).astype("int64")
    return {str(c): int(n) for c, n in zip(first_rows["chunk"], counts, strict=True) if n > 0}


def _chunk_format(first_rows: pd.DataFrame) -> int:
    if not len(first_rows) or "chunk_format" not in first_rows:
        return 1
    marks = pd.to_numeric(first_rows["chunk_format"], errors="coerce").to_numpy(float)
    marks = marks[np.isfinite(marks) & (marks >= 1) & (marks <= rr.MAX_CHUNK_FORMAT)]  # else garbage
    return int(marks.max()) if len(marks) else 1


_WARNED: set[tuple[str, str, tuple[str, ...]]] = set()  # (run, node, chunks) warned of in this process


def _distrust_inconsistent(stored: NodeSummaries, node: str, run_dir: Path) -> list[str]:
    """Forget the stored summaries whose domain rows contradict their device rows (an edit, or
    damage the row counts did not catch), so their chunks are summarised again in memory: the
    chunks are the ground truth. "file: why" for each, for the report's note."""
    found = inconsistent_chunks(stored.frame("devices"), stored.frame("domains"))
    if found:
        stored.keep_only(set(stored.valid) - set(found))
    key = (str(Path(run_dir).resolve()), node, tuple(sorted(found)))
    if found and key not in _WARNED:  # a report reads the summaries more than once: say it once
        _WARNED.add(key)
        log.warning("olmo-green: %s node %s: %d chunk summary(ies) contradict themselves (%s); "
                    "summarising those chunks again", run_dir, node, len(found), ", ".join(sorted(found)))
    return [f"{name}: {why}" for name, why in sorted(found.items())]


def _identify(path: Path, settings: SummarySettings) -> ChunkId | None:
    try:
        return ChunkId.of(path, settings.bucket_s, settings.max_gap_s)
    except FileNotFoundError:
        return None


def _build(path: Path, settings: SummarySettings, node: str, unreadable: list[str]) -> ChunkSummary | None:
    try:
        samples, bad_rows = rr.read_sample_chunk(path)
    except (OSError, ValueError, UnicodeError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        log.warning("olmo-green: cannot read %s (%s); node %s's energy is incomplete",
                    path, reason, node)
        unreadable.append(f"{path.name}: {reason}")
        return None
    summary = summarise_chunk(samples, settings.bucket_s, settings.max_gap_s,
                              gpu_limit_w=settings.gpu_limit_w)
    summary.bad_rows = bad_rows
    summary.chunk_format = rr.chunk_format(path)
    if summary.devices.empty:  # nothing usable: one row still carries the chunk's identity and count
        summary.devices = empty_chunk_row(node)
    return summary
