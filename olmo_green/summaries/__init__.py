"""Chunk summaries: a run record's energy without re-reading its samples.

The node that takes the samples summarises each chunk as it closes it
(telemetry/store.py); reports and dashboards read the summaries, so their cost
grows with chunks and steps, not samples. A chunk without a current summary is
summarised on first read. `report --verify` re-reads the raw chunks, which stay
the ground truth, and compares (summaries/verify.py).

    node_energy(run_dir, node) -> NodeEnergy   devices' totals, energy over time, power per bucket

The format is documented in olmo_green/record/layout.py beside the sample columns.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from olmo_green import record as rr
from olmo_green.crosscheck.duplicates import SeenChunks
from olmo_green.summaries.build import ChunkSummary, summarise_chunk
from olmo_green.summaries.merge import MixedMethods, NodeEnergy, merge_node
from olmo_green.summaries.record import SummarySettings, record_settings, summarised_chunks

__all__ = ["NodeEnergy", "SummarySettings", "node_energy", "record_settings", "whole"]


def node_energy(run_dir: str | Path, node: str, settings: SummarySettings | None = None,
                save: bool = True, paths: list[Path] | None = None, with_buckets: bool = False,
                max_buckets: float = math.inf, seen: SeenChunks | None = None) -> NodeEnergy:
    """One node's energy from its chunk summaries (built and saved where missing).

    `paths`: the node's chunks in time order, where the caller listed the record once for
    all nodes; `with_buckets`: also each device's power per bucket (the dashboard's);
    `max_buckets`: the most time steps to hold (merge_node); `seen`: the chunks of the record
    counted so far (crosscheck/duplicates.py): a chunk holding samples already counted is left out.
    """
    settings = settings or record_settings(run_dir)
    chunks = summarised_chunks(run_dir, node, settings, save, paths, with_buckets)
    kept = None
    if seen is not None:
        chunks.devices = seen.keep(node, chunks.devices)
        kept = set(chunks.devices["chunk"]) if len(chunks.devices) else set()
        chunks.domains = chunks.domains[chunks.domains["chunk"].isin(kept)] if len(chunks.domains) \
            else chunks.domains
        if chunks.buckets is not None and len(chunks.buckets):
            chunks.buckets = chunks.buckets[chunks.buckets["chunk"].isin(kept)]
    try:
        energy = merge_node(node, chunks.devices, chunks.domains, settings.bucket_s, chunks.buckets,
                            max_buckets)
    except MixedMethods:  # a device read by counter in some chunks and by power in others
        listed = rr.node_chunk_paths(run_dir, node) if paths is None else paths
        # the chunks `seen` left out (copies) stay out here too
        energy = _whole_node(run_dir, node, settings, [p for p in listed if kept is None or p.name in kept])
    energy.unreadable, energy.bad_rows, energy.distrusted = chunks.unreadable, chunks.bad_rows, \
        chunks.distrusted
    energy.implausible, energy.chunk_format = chunks.implausible, chunks.chunk_format
    return energy


def whole(node: str, summary: ChunkSummary, bucket_s: float) -> NodeEnergy:
    """A node from one summary of all its samples (a trace, or the mixed-methods fallback)."""
    return merge_node(node, summary.devices.assign(order=0), summary.domains, bucket_s, summary.buckets)


def _whole_node(run_dir: str | Path, node: str, settings: SummarySettings,
                paths: list[Path] | None) -> NodeEnergy:
    """The node's samples integrated at once, as a trace is: the rare path, O(samples of one node)."""
    frames = []
    for path in rr.node_chunk_paths(run_dir, node) if paths is None else paths:
        try:
            frames.append(rr.read_sample_chunk(path)[0])
        except (OSError, ValueError, UnicodeError):
            continue  # already named by summarised_chunks
    samples = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=rr.SAMPLE_COLUMNS)
    return whole(node, summarise_chunk(samples, settings.bucket_s, settings.max_gap_s, whole=True,
                                       gpu_limit_w=settings.gpu_limit_w),
                 settings.bucket_s)
