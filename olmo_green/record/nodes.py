"""Which nodes wrote samples to a run, their chunks in time order, and node-name matching."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from olmo_green.errors import InputFileError
from olmo_green.record.layout import OPEN_CHUNK_SUFFIX, open_chunk_path, telemetry_dir

_CHUNK = re.compile(r"^(?P<node>.+)\.(?P<seq>\d{6})\.(?P<ext>parquet|csv)$")


def sample_chunks(run_dir: str | Path, node: str | None = None) -> dict[str, dict[int, Path]]:
    """Closed chunks per node and sequence number; Parquet wins over a leftover CSV."""
    chunks: dict[str, dict[int, Path]] = {}
    folder = telemetry_dir(run_dir)
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        match = _CHUNK.match(path.name)
        if not match or (node is not None and match["node"] != node):
            continue
        seqs = chunks.setdefault(match["node"], {})
        seq = int(match["seq"])
        if match["ext"] == "parquet" or seq not in seqs:
            seqs[seq] = path
    return chunks


def node_names(run_dir: str | Path, closed: dict[str, dict[int, Path]] | None = None) -> list[str]:
    """Nodes that wrote samples to this run (`closed`: sample_chunks's answer, if at hand)."""
    folder = telemetry_dir(run_dir)
    opened = {p.name[: -len(OPEN_CHUNK_SUFFIX)] for p in folder.glob("*" + OPEN_CHUNK_SUFFIX)}
    return sorted(opened | set(sample_chunks(run_dir) if closed is None else closed))



def chunk_listing(run_dir: str | Path) -> dict[str, list[Path]]:
    """Every node's chunks in time order (closed by sequence, then the open one), from one
    listing of the folder: a record of 256 nodes and 27,000 chunks is listed once, not per node."""
    closed = sample_chunks(run_dir)
    listing = {}
    for node in node_names(run_dir, closed):
        paths = [path for _, path in sorted(closed.get(node, {}).items())]
        open_path = open_chunk_path(run_dir, node)
        listing[node] = paths + ([open_path] if open_path.exists() else [])
    return listing


def node_chunk_paths(run_dir: str | Path, node: str) -> list[Path]:
    """A node's sample chunks in time order: closed ones by sequence, then the open one."""
    closed = [path for _, path in sorted(sample_chunks(run_dir, node).get(node, {}).items())]
    open_path = open_chunk_path(run_dir, node)
    return closed + ([open_path] if open_path.exists() else [])



def match_nodes(names: list[str], pattern: str | None) -> list[str]:
    """The node names a shell pattern (`--nodes 'nid00*'`) selects, case-sensitively as file names
    are; None selects all. A pattern that selects none is one line naming a few of the nodes."""
    if pattern is None:
        return list(names)
    chosen = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
    if not chosen:
        raise InputFileError(f"--nodes {pattern!r} matches none of the record's {len(names)} node(s) "
                             f"({', '.join(list(names)[:5])}{', ...' if len(names) > 5 else ''})")
    return chosen
