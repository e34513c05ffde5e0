"""A node's chunk summaries on disk: three Parquet files, one row set per chunk.

    telemetry/<node>.summary.parquet    one row per chunk and device (DEVICE_COLUMNS)
    telemetry/<node>.buckets.parquet    one row per chunk, device and bucket (BUCKET_COLUMNS)
    telemetry/<node>.domains.parquet    one row per chunk, domain and bucket (DOMAIN_COLUMNS)

Every row carries its chunk's identity (file name, size in bytes, modification
time in ns) and the settings it was built with (bucket_s, gap setting); the
device rows also say how many bucket and domain rows their chunk has. An entry
whose chunk changed, whose settings differ, or whose row counts do not match
(a save cut short) is not used: the chunk is summarised again. One file per
node, not per chunk, so that a report of 256 nodes opens hundreds of files,
not tens of thousands. Files are replaced whole and atomically.

Format 2 (the cross-checks, olmo_green/crosscheck) added to the device rows the
counter's and power's own energy, the windows repaired from power, the median
sample interval, power at the chunk's ends, and `chunk_hash` (the samples'
content hash); a file without them is of format 1 and is rebuilt on first read.
Format 3 added to the domain rows the power bounds of each bucket (`ceiling_w`,
`floor_w`: summaries/bounds.py); a domain file without them is rebuilt likewise.
Format 4 added to the device rows the windows where counter and power disagree
but the counter was kept (`disputed_*`) and how far apart the two stay over the
chunk (`unexplained_j`); a device file without them is rebuilt likewise.
Format 5 added `chunk_format`: the mark the chunk's meter wrote in it
(record/chunks.py), what its node's events must then hold (crosscheck/sensors.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from olmo_green.fileio import replacing
from olmo_green.record.layout import telemetry_dir

DEVICE_COLUMNS = ["node", "device", "domain", "source", "rows", "counter_readings", "counter", "valid",
                  "first_s", "last_s", "first_value", "last_value", "energy_j", "gaps", "gap_s", "resets",
                  "peak_w", "max_gap_s",
                  # format 2 (cross-checks): the counter's and power's own energy over the chunk, the
                  # windows repaired from power, the median sample interval, power at the chunk's ends
                  "counter_j", "power_j", "repaired_windows", "repaired_s", "repaired_counter_j",
                  "repaired_power_j", "median_dt_s", "first_power_w", "last_power_w",
                  # format 4: windows in dispute, the counter kept (crosscheck/counter.py)
                  "disputed_windows", "disputed_s", "disputed_counter_j", "disputed_power_j", "unexplained_j"]
BUCKET_COLUMNS = ["node", "device", "domain", "bucket", "energy_j", "covered_s", "min_w", "max_w"]
# format 3: the domain's power bounds in the bucket (summaries/bounds.py), for the steps.csv check
DOMAIN_COLUMNS = ["node", "domain", "bucket", "energy_j", "power_w", "covered_s", "devices", "ceiling_w",
                  "floor_w"]


@dataclass
class ChunkSummary:
    """A chunk's summary: one row per device, per device bucket, and per domain bucket."""

    devices: pd.DataFrame
    buckets: pd.DataFrame
    domains: pd.DataFrame
    bad_rows: int = 0  # rows of the chunk that were skipped as unreadable (chunks.read_sample_chunk)
    content_hash: str = ""  # of the chunk's samples (crosscheck/duplicates.py)
    implausible: int = 0  # accelerator power values above the profile's limit, dropped (checks.gpu_limit_w)
    chunk_format: int = 1  # the chunk's own mark (record/chunks.py CHUNK_FORMAT): what its meter promised


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
    return telemetry_dir(run_dir) / f"{node}{KINDS[kind]}"


def stored_intervals_s(run_dir: str | Path, node: str) -> np.ndarray | None:
    """The median sample interval of each chunk summarised for `node` (positive, finite ones);
    None where no summary is stored or it is of a format without the column."""
    try:
        column = pq.read_table(summary_path(run_dir, node, "devices"), columns=["median_dt_s"]).column(0)
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return None
    values = column.to_numpy()
    return values[np.isfinite(values) & (values > 0)]


@dataclass
class NodeSummaries:
    """The stored summaries of one node: whole frames (identity columns included) and the
    chunks whose rows are complete. Frame-based, so a node of a hundred chunks costs a few
    vectorised operations, not a hundred small DataFrames."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    valid: dict[str, ChunkId] = field(default_factory=dict)  # chunk name -> identity of its rows
    changed: bool = False
    unreadable: str | None = None  # why the stored files could not be used, if they could not
    _added: list[tuple[ChunkId, ChunkSummary]] = field(default_factory=list)

    def has(self, chunk: ChunkId) -> bool:
        return self.valid.get(chunk.name) == chunk

    def put(self, chunk: ChunkId, summary: ChunkSummary) -> None:
        self.valid[chunk.name] = chunk
        self._added.append((chunk, summary))
        self.changed = True

    def keep_only(self, names: set[str]) -> None:
        """Forget summaries of chunks no longer in the record (converted, or removed)."""
        gone = set(self.valid) - names
        if gone:
            self.valid = {k: v for k, v in self.valid.items() if k in names}
            self.changed = True

    def frame(self, kind: str) -> pd.DataFrame:
        """Rows of `kind` for the valid chunks only (identity columns included)."""
        self._absorb()
        frame = self.frames.get(kind)
        if frame is None or not len(frame):
            return pd.DataFrame(columns=IDENTITY + _COLUMNS[kind])
        return frame[_current(frame, self.valid)]

    def _absorb(self) -> None:
        """Fold summaries put since loading into the frames, replacing their chunks' old rows."""
        if not self._added:
            return
        names = {chunk.name for chunk, _ in self._added}
        for kind in KINDS:
            old = self.frames.get(kind)
            parts = [old[~old["chunk"].isin(names)]] if old is not None and len(old) else []
            parts += [_with_identity(kind, chunk, summary) for chunk, summary in self._added]
            parts = [p for p in parts if len(p)]
            self.frames[kind] = pd.concat(parts, ignore_index=True) if parts else None
        self._added = []


_COLUMNS = {"devices": DEVICE_COLUMNS, "buckets": BUCKET_COLUMNS, "domains": DOMAIN_COLUMNS}


def _with_identity(kind: str, chunk: ChunkId, summary: ChunkSummary) -> pd.DataFrame:
    frame = {"devices": summary.devices, "buckets": summary.buckets, "domains": summary.domains}[kind]
    extra = chunk.values()
    if kind == "devices":
        extra |= {"chunk_buckets": len(summary.buckets), "chunk_domains": len(summary.domains),
                  "chunk_bad_rows": summary.bad_rows, "chunk_hash": summary.content_hash,
                  "chunk_implausible": summary.implausible, "chunk_format": summary.chunk_format}
    return frame.assign(**extra)


def _current(frame: pd.DataFrame, valid: dict[str, ChunkId]) -> np.ndarray:
    """True for rows whose chunk identity is the valid one of their chunk (compared once per
    chunk name, then spread to its rows)."""
    codes, names = pd.factorize(frame["chunk"].astype(str))
    wanted = [valid.get(str(name)) for name in names]
    ok = np.ones(len(frame), dtype=bool)
    attributes = ("bytes", "mtime_ns", "bucket_s", "gap_setting_s")
    for column, attribute in zip(IDENTITY[1:], attributes, strict=True):
        expected = np.array([np.nan if w is None else getattr(w, attribute) for w in wanted], dtype=float)
        ok &= frame[column].to_numpy(dtype=float) == expected[codes]
    return ok


def load_node(run_dir: str | Path, node: str,
              kinds: tuple[str, ...] = ("devices", "domains")) -> NodeSummaries:
    """What is stored for `node`: the `kinds` files (the device buckets only for the dashboard);
    unreadable or inconsistent files count as nothing stored."""
    paths = {kind: summary_path(run_dir, node, kind) for kind in KINDS}
    if not paths["devices"].exists():
        return NodeSummaries()
    try:
        frames = {kind: pq.read_table(paths[kind]).to_pandas() if paths[kind].exists() else None
                  for kind in ("devices", *[k for k in kinds if k != "devices"])}
        return NodeSummaries(frames, _valid(frames))
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as e:
        return NodeSummaries(changed=True, unreadable=f"{paths['devices'].name}: {e}")


def _valid(frames: dict[str, pd.DataFrame | None]) -> dict[str, ChunkId]:
    """Chunks whose rows in every loaded file are complete (a save cut short is not)."""
    devices = frames["devices"]
    needed = IDENTITY + DEVICE_COLUMNS + ["chunk_buckets", "chunk_domains", "chunk_hash", "chunk_format"]
    domains = frames.get("domains")
    if devices is None or not set(needed) <= set(devices) or \
            (domains is not None and not set(DOMAIN_COLUMNS) <= set(domains)):
        raise ValueError("not a summary file of this version")
    ids = devices.drop_duplicates("chunk").set_index(IDENTITY)
    complete = pd.Series(True, index=ids.index)
    for kind, count in (("buckets", "chunk_buckets"), ("domains", "chunk_domains")):
        frame = frames.get(kind)
        if kind not in frames:
            continue  # not loaded: not needed by this reader
        have = _rows_per_chunk(frame, ids.index.get_level_values("chunk"))
        complete &= have == ids[count].to_numpy()
    chosen = ids.index[complete.to_numpy()]
    return {str(name): ChunkId(str(name), int(size), int(mtime), float(bucket), float(gap))
            for name, size, mtime, bucket, gap in chosen}


def _rows_per_chunk(frame: pd.DataFrame | None, names: pd.Index) -> np.ndarray:
    """How many rows of `frame` each chunk name has (the stored file holds one identity a chunk)."""
    if frame is None or not len(frame):
        return np.zeros(len(names), dtype=np.int64)
    counts = frame["chunk"].astype(str).value_counts()
    return counts.reindex(names.astype(str), fill_value=0).to_numpy()


def save_node(run_dir: str | Path, node: str, stored: NodeSummaries) -> bool:
    """Replace the node's summary files; False where the record cannot be written (read-only).
    The buckets file is kept for chunks this reader did not load it for."""
    if "buckets" not in stored.frames and summary_path(run_dir, node, "buckets").exists() \
            and not stored.unreadable:
        try:
            stored.frames["buckets"] = pq.read_table(summary_path(run_dir, node, "buckets")).to_pandas()
        except (OSError, pa.ArrowException):
            stored.frames["buckets"] = None
    frames = {kind: stored.frame(kind) for kind in KINDS}
    try:
        # Devices last: their counts vouch for the other two, so a save cut short is detected.
        for kind in ("buckets", "domains", "devices"):
            _write_atomic(summary_path(run_dir, node, kind), [frames[kind]])
    except OSError:
        return False
    stored.changed = False
    return True


def _write_atomic(path: Path, frames: list[pd.DataFrame]) -> None:
    """Replace `path` whole: a fresh temporary file beside it (mkstemp: a name planted in
    advance, a symlink included, is never written through), renamed over it when complete."""
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    with replacing(path) as tmp:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp, compression="zstd")
