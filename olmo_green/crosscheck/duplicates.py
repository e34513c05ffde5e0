"""The same samples under two names: a chunk's content hash against every other chunk's.

A chunk copied under another node's file name (or a second name of the same
node) holds samples already counted: summing both counts them twice. Each chunk's
summary carries a hash of its samples (the values, not the file's bytes, so the
same samples as CSV and as Parquet hash alike); the reader keeps the first chunk
of each hash, in the listing's order, and names the others, which count nothing.

The node is part of the hash: two nodes of one job sample at the same instants,
and a simulated node of a profile draws what its twin draws, so only the node
column tells their samples apart.
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
        return chunks[~chunks["chunk"].isin(dropped)] if dropped else chunks
