"""A node's chunk summaries on disk: three Parquet files, one row set per chunk.

    telemetry/<node>.summary.parquet    one row per chunk and device (build.DEVICE_COLUMNS)
    telemetry/<node>.buckets.parquet    one row per chunk, device and bucket (build.BUCKET_COLUMNS)
    telemetry/<node>.domains.parquet    one row per chunk, domain and bucket (build.DOMAIN_COLUMNS)

Every row carries its chunk's identity (file name, size in bytes, modification
time in ns) and the settings it was built with (bucket_s, gap setting); the
device rows also say how many bucket and domain rows their chunk has. An entry
whose chunk changed, whose settings differ, or whose row counts do not match
(a save cut short) is not used: the chunk is summarised again. One file per
node, not per chunk, so that a report of 256 nodes opens hundreds of files,
not tens of thousands. Files are replaced whole and atomically.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from olmo_green import runrecord as rr
from olmo_green.summaries.build import BUCKET_COLUMNS, DEVICE_COLUMNS, DOMAIN_COLUMNS, ChunkSummary

KINDS = {"devices": ".summary.parquet", "buckets": ".buckets.parquet", "domains": ".domains.parquet"}
IDENTITY = ["chunk", "chunk_bytes", "chunk_mtime_ns", "bucket_s", "gap_setting_s"]
NO_GAP_SETTING = -1.0  # the gap threshold came from each chunk's own sample intervals


@dataclass(frozen=True)
class ChunkId:
    """Which bytes a summary was made from, and with what settings."""

    name: str
    bytes: int
    mtime_ns: int
    bucket_s: float
    gap_setting_s: float

    @classmethod
    def of(cls, path: Path, bucket_s: float, max_gap_s: float | None) -> ChunkId:
        stat = path.stat()
        return cls(path.name, stat.st_size, stat.st_mtime_ns, float(bucket_s),
                   NO_GAP_SETTING if max_gap_s is None else float(max_gap_s))

    def values(self) -> dict:
        return {"chunk": self.name, "chunk_bytes": self.bytes, "chunk_mtime_ns": self.mtime_ns,
                "bucket_s": self.bucket_s, "gap_setting_s": self.gap_setting_s}


def summary_path(run_dir: str | Path, node: str, kind: str) -> Path:
    return rr.telemetry_dir(run_dir) / f"{node}{KINDS[kind]}"


@dataclass
class NodeSummaries:
    """The stored summaries of one node's chunks, by chunk identity."""

    entries: dict[ChunkId, ChunkSummary] = field(default_factory=dict)
    changed: bool = False
    unreadable: str | None = None  # why the stored files could not be used, if they could not

    def get(self, chunk: ChunkId) -> ChunkSummary | None:
        return self.entries.get(chunk)

    def put(self, chunk: ChunkId, summary: ChunkSummary) -> None:
        self.entries = {k: v for k, v in self.entries.items() if k.name != chunk.name}
        self.entries[chunk] = summary
        self.changed = True

    def keep_only(self, names: set[str]) -> None:
        """Forget summaries of chunks no longer in the record (converted, or removed)."""
        kept = {k: v for k, v in self.entries.items() if k.name in names}
        self.changed |= len(kept) != len(self.entries)
        self.entries = kept


def load_node(run_dir: str | Path, node: str) -> NodeSummaries:
    """What is stored for `node`; unreadable or inconsistent files count as nothing stored."""
    paths = {kind: summary_path(run_dir, node, kind) for kind in KINDS}
    if not paths["devices"].exists():
        return NodeSummaries()
    try:
        frames = {kind: pq.read_table(path).to_pandas() if path.exists() else None
                  for kind, path in paths.items()}
        return NodeSummaries(_entries(frames))
    except (OSError, ValueError, KeyError, pa.ArrowException) as e:
        return NodeSummaries(changed=True, unreadable=f"{paths['devices'].name}: {e}")


def _entries(frames: dict[str, pd.DataFrame | None]) -> dict[ChunkId, ChunkSummary]:
    devices = frames["devices"]
    if devices is None or not set(IDENTITY + DEVICE_COLUMNS) <= set(devices):
        raise ValueError("not a summary file of this version")
    parts = {kind: _by_chunk(frames[kind], columns) for kind, columns in
             (("buckets", BUCKET_COLUMNS), ("domains", DOMAIN_COLUMNS))}
    entries = {}
    for name, rows in devices.groupby("chunk", sort=False):
        first = rows.iloc[0]
        chunk = ChunkId(str(name), int(first["chunk_bytes"]), int(first["chunk_mtime_ns"]),
                        float(first["bucket_s"]), float(first["gap_setting_s"]))
        key = (str(name), chunk.bytes, chunk.mtime_ns)
        buckets = parts["buckets"].get(key, pd.DataFrame(columns=BUCKET_COLUMNS))
        domains = parts["domains"].get(key, pd.DataFrame(columns=DOMAIN_COLUMNS))
        if (len(buckets), len(domains)) != (int(first["chunk_buckets"]), int(first["chunk_domains"])):
            continue  # a save cut short, or files from two saves: summarise the chunk again
        entries[chunk] = ChunkSummary(rows[DEVICE_COLUMNS].reset_index(drop=True), buckets, domains,
                                      int(first.get("chunk_bad_rows", 0)))
    return entries


def _by_chunk(frame: pd.DataFrame | None, columns: list[str]) -> dict[tuple, pd.DataFrame]:
    if frame is None or not set(columns) <= set(frame):
        return {}
    groups = frame.groupby(["chunk", "chunk_bytes", "chunk_mtime_ns"], sort=False)
    return {(str(k[0]), int(k[1]), int(k[2])): rows[columns].reset_index(drop=True) for k, rows in groups}


def save_node(run_dir: str | Path, node: str, stored: NodeSummaries) -> bool:
    """Replace the node's summary files; False where the record cannot be written (read-only)."""
    frames = {kind: [] for kind in KINDS}
    for chunk, summary in stored.entries.items():
        identity = chunk.values()
        counts = {"chunk_buckets": len(summary.buckets), "chunk_domains": len(summary.domains),
                  "chunk_bad_rows": summary.bad_rows}
        frames["devices"].append(summary.devices.assign(**identity, **counts))
        frames["buckets"].append(summary.buckets.assign(**identity))
        frames["domains"].append(summary.domains.assign(**identity))
    try:
        # Devices last: their counts vouch for the other two, so a save cut short is detected.
        for kind in ("buckets", "domains", "devices"):
            _write_atomic(summary_path(run_dir, node, kind), frames[kind])
    except OSError:
        return False
    stored.changed = False
    return True


def _write_atomic(path: Path, frames: list[pd.DataFrame]) -> None:
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # a name of its own per writing process
    try:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp, compression="zstd")
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
