"""The same samples under two names: a chunk's content hash against every other chunk's.

A chunk copied under another node's file name (or a second name of the same
node) holds samples already counted: summing both counts them twice. Each chunk's
summary carries a hash of its samples (the values, not the file's bytes, so the
same samples as CSV and as Parquet hash alike); the reader keeps the first chunk
of each hash, in the listing's order, and names the others, which count nothing.

The node is part of the hash: two nodes of one job sample at the same instants,
and a simulated node of a profile draws what its twin draws, so only the node
column tells their samples apart.

A copy that was altered (shifted in time, so its hash differs) still overlaps: one
node's meter writes its chunks one after another, so a device's samples in a later
chunk start where the earlier chunk's ended. A chunk whose samples of a device reach
back into an earlier chunk's by more than two sampling intervals (a sample read at a
chunk's roll lands, at most, a hair out of order) is left out the same way.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

HASHED = ["time_s", "node", "device", "domain", "power_w", "energy_j"]


def content_hash(samples: pd.DataFrame) -> str:
    """A hash of the samples' values in their order, independent of the file format."""
    frame = samples[[c for c in HASHED if c in samples]].copy()
    for column in ("node", "device", "domain"):
        if column in frame:
            frame[column] = frame[column].astype(str)
    for column in ("time_s", "power_w", "energy_j"):
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy(np.uint64)
    digest = hashlib.sha256(rows.tobytes())
    digest.update(str(len(frame)).encode())
    return digest.hexdigest()


class SeenChunks:
    """Chunk hashes already counted in a record, across its nodes."""

    def __init__(self) -> None:
        self.first: dict[str, str] = {}  # hash -> "node/file" that counts
        self.duplicates: list[str] = []  # one line per chunk left out

    def keep(self, node: str, chunks: pd.DataFrame) -> pd.DataFrame:
        """The device rows of chunks not already counted (`chunk`, `chunk_hash` columns)."""
        if not len(chunks) or "chunk_hash" not in chunks:
            return chunks
        dropped = set()
        for name, digest in chunks[["chunk", "chunk_hash"]].drop_duplicates("chunk").itertuples(index=False):
            if not digest:
                continue
            where = f"{node}/{name}"
            if digest in self.first:
                self.duplicates.append(f"{where} holds the same samples as {self.first[digest]}: a "
                                       "duplicate (copied chunk), counted once")
                dropped.add(name)
            else:
                self.first[digest] = where
        dropped |= self._overlapping(node, chunks[~chunks["chunk"].isin(dropped)])
        return chunks[~chunks["chunk"].isin(dropped)] if dropped else chunks

    def _overlapping(self, node: str, chunks: pd.DataFrame) -> set[str]:
        """Chunks (in time order) whose samples of a device overlap an earlier kept chunk's."""
        if not _any_overlap(chunks):
            return set()  # the honest case, in one vectorised pass over the node's chunks
        ordered = chunks.sort_values("order", kind="stable") if "order" in chunks else chunks
        spans: dict[tuple[str, str], list[tuple[float, float, float, str]]] = {}
        dropped: set[str] = set()
        for name, rows in ordered.groupby("chunk", sort=False):
            found = _overlap(rows, spans)
            if found is not None:
                device, other, overlap_s = found
                self.duplicates.append(
                    f"{node}/{name}: its samples of {node}/{device} overlap {node}/{other}'s by "
                    f"{overlap_s:,.2f} s, though one node's chunks follow each other: a copied chunk "
                    "(shifted?), counted once")
                dropped.add(name)
                continue
            for row in rows.itertuples(index=False):
                if np.isfinite(row.first_s) and np.isfinite(row.last_s):
                    spans.setdefault((str(row.device), str(row.domain)), []).append(
                        (float(row.first_s), float(row.last_s), _interval_s(row), str(name)))
        return dropped


def _any_overlap(chunks: pd.DataFrame) -> bool:
    """Whether any two chunks' spans of one device overlap by more than two of the device's
    largest sampling interval (never less than _overlap allows: a prefilter that misses nothing).
    Numpy over the node's chunk rows: a record of 256 nodes x 105 chunks pays milliseconds."""
    if not {"first_s", "last_s", "device", "domain"} <= set(chunks.columns) or len(chunks) < 2:
        return False
    first, last = chunks["first_s"].to_numpy(float), chunks["last_s"].to_numpy(float)
    interval = chunks["median_dt_s"].to_numpy(float) if "median_dt_s" in chunks else np.zeros(len(first))
    known = np.isfinite(first) & np.isfinite(last)
    key = pd.factorize(chunks["device"].astype(str) + "\x00" + chunks["domain"].astype(str))[0][known]
    first, last, interval = first[known], last[known], np.nan_to_num(interval[known])
    if len(key) < 2:
        return False
    order = np.lexsort((first, key))
    key, first, last = key[order], first[order], last[order]
    tolerance = np.zeros(key.max() + 1)
    np.maximum.at(tolerance, key, 2.0 * interval[order])
    # The latest end so far within each device: offset each device's times past the previous
    # device's, so one running maximum never carries across devices.
    base = first.min()
    offset = key * (float(np.nanmax(last) - base) + 1.0)
    reach = np.maximum.accumulate(last - base + offset)
    same = key[1:] == key[:-1]
    return bool((same & (reach[:-1] - offset[1:] - (first[1:] - base) > tolerance[key[1:]])).any())


def _interval_s(row) -> float:
    value = getattr(row, "median_dt_s", np.nan)
    return float(value) if np.isfinite(value) else 0.0


def _overlap(rows: pd.DataFrame, spans: dict) -> tuple[str, str, float] | None:
    """The first device of a chunk's rows whose span overlaps a kept chunk's beyond two sampling
    intervals: (device, that chunk, seconds of overlap)."""
    for row in rows.itertuples(index=False):
        if not (np.isfinite(row.first_s) and np.isfinite(row.last_s)):
            continue
        for first_s, last_s, interval_s, other in spans.get((str(row.device), str(row.domain)), []):
            overlap_s = min(last_s, float(row.last_s)) - max(first_s, float(row.first_s))
            if overlap_s > 2.0 * max(interval_s, _interval_s(row)):
                return str(row.device), other, overlap_s
    return None
