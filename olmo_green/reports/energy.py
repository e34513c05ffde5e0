"""Where a report's energy comes from: a run's chunk summaries, or a trace's samples.

Both give NodeEnergy per node (olmo_green/summaries): each device's totals, gaps
and resets, and each domain's energy over time with a knot at every bucket edge.
A run directory is read through its summaries, so a report costs O(chunks +
steps) whatever the sampling rate; a trace has no summaries: its batches are
integrated as they are read (traces/stream.py), into the same per-device totals
and per-bucket sums a chunk summary holds, in memory bounded by devices x buckets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green import record as rr
from olmo_green.crosscheck.duplicates import SeenChunks
from olmo_green.integrate import EnergyCurve
from olmo_green.summaries import NodeEnergy, node_energy, record_settings

GPU_DOMAINS = rr.ACCELERATOR_DOMAINS  # a trace without a domain column holds accelerators


# Time steps a run's nodes may hold in all (per domain): ~100 bytes each in memory. A run of
# 256 nodes x 11 days (95,000 buckets of 10 s a node) is held at 300 s steps; totals stay exact,
# and the job's power keeps the summaries' own 10 s buckets (summed over nodes as they are read).
HELD_STEPS = 1_500_000


@dataclass
class RunEnergy:
    """Every node of a run or trace."""

    nodes: list[NodeEnergy]
    summed_power: pd.DataFrame | None = None  # the job's accelerator power at full resolution
    # Cross-checks (olmo_green/crosscheck): chunks left out as duplicates, and config.yaml's
    # sampling interval where the chunks contradict it (one line each)
    duplicates: list[str] = field(default_factory=list)
    contradiction: str | None = None
    # Intervals longer than this were gaps (GAP_FACTOR sampling intervals; None: each chunk's own),
    # and how often samples reached the disk: steps.csv's windows are held against them
    # (crosscheck/windows.py)
    max_gap_s: float | None = None
    flush_s: float | None = None

    @property
    def devices(self) -> list[EnergyCurve]:
        return [c for n in self.nodes for c in n.devices]

    def timeline(self, domains: tuple[str, ...] = GPU_DOMAINS) -> list[EnergyCurve]:
        return [c for n in self.nodes for c in n.timeline if c.domain in domains]

    def job_power(self, domains: tuple[str, ...] = GPU_DOMAINS) -> pd.DataFrame:
        """The job's power over wall time: per bucket (start `time_s`, width `bucket_s`), the mean
        power of each node's `domains` devices summed over nodes (`power_w`), and how many node
        series were seen in that bucket (`nodes`). Built from the summaries, O(buckets)."""
        if self.summed_power is not None and domains == GPU_DOMAINS:
            return self.summed_power
        # Only the columns needed, and nodes as integer codes: a sparse trace spanning years has
        # millions of buckets, and grouping on node names cost gigabytes there.
        frames = [pd.DataFrame({"bucket": frame["bucket"].to_numpy(),
                                "power_w": frame["power_w"].to_numpy(float), "node": code,
                                "bucket_s": n.bucket_s})
                  for code, n in enumerate(self.nodes)
                  for domain, frame in n.power.items() if domain in domains and len(frame)]
        if not frames:
            return pd.DataFrame(columns=["time_s", "bucket_s", "power_w", "nodes"])
        joined = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        joined["time_s"] = joined["bucket"].astype(float) * joined["bucket_s"]
        if len(frames) == 1:  # one node's one series: nothing to sum
            return joined.assign(nodes=1)[["time_s", "bucket_s", "power_w", "nodes"]]
        grouped = joined.groupby(["time_s", "bucket_s"], sort=True).agg(
            power_w=("power_w", "sum"), nodes=("node", "nunique"))
        return grouped.reset_index()

    @property
    def unreadable(self) -> list[str]:
        return [f"{n.node}: {why}" for n in self.nodes for why in n.unreadable]

    @property
    def distrusted(self) -> list[str]:
        """Stored chunk summaries that contradicted themselves, summarised again (summaries/domainrows.py)."""
        return [f"{n.node}: {why}" for n in self.nodes for why in n.distrusted]

    @property
    def bad_rows(self) -> int:
        return sum(n.bad_rows for n in self.nodes)

    @property
    def samples(self) -> int:
        return sum(n.samples for n in self.nodes)


def run_energy(run_dir: str | Path, save: bool = True, with_buckets: bool = False,
               nodes: list[str] | None = None, held_steps: float = HELD_STEPS) -> RunEnergy:
    """A run's nodes from their chunk summaries (built and saved on first read where missing);
    `with_buckets` adds each device's power per bucket (the dashboard's device panel).

    Node by node, so memory holds one node's summaries at a time, plus each node's energy at
    the resolution HELD_STEPS allows and the job's power summed so far.
    """
    settings = record_settings(run_dir)
    listing = rr.chunk_listing(run_dir)  # one directory listing for every node
    chosen = {node: paths for node, paths in listing.items() if nodes is None or node in nodes}
    per_node = held_steps / max(len(chosen), 1)
    energy, job, seen = RunEnergy([]), _JobPower(), SeenChunks()
    for node, paths in chosen.items():
        node_energy_ = node_energy(run_dir, node, settings, save, paths, with_buckets, per_node, seen)
        job.add(node_energy_)
        energy.nodes.append(node_energy_)
    energy.summed_power = job.frame()
    energy.duplicates, energy.contradiction = seen.duplicates, settings.contradiction
    energy.max_gap_s, energy.flush_s = settings.max_gap_s, settings.flush_s
    return energy


class _JobPower:
    """The accelerators' mean power per bucket, summed over nodes as they are read (O(buckets))."""

    def __init__(self) -> None:
        self.power_w: pd.Series | None = None
        self.nodes: pd.Series | None = None
        self.bucket_s: float | None = None

    def add(self, node: NodeEnergy) -> None:
        for frame in node.fine_power.values():
            if not len(frame):
                continue
            power = pd.Series(frame["power_w"].to_numpy(float), index=frame["bucket"].to_numpy(np.int64))
            power = power.groupby(level=0).sum()  # one series per node even with several domains
            seen = pd.Series(1, index=power.index)
            self.power_w = power if self.power_w is None else self.power_w.add(power, fill_value=0.0)
            self.nodes = seen if self.nodes is None else self.nodes.add(seen, fill_value=0)
            self.bucket_s = node.fine_bucket_s
        node.fine_power = {}  # summed: the node's copy is no longer needed

    def frame(self) -> pd.DataFrame | None:
        if self.power_w is None:
            return None
        return pd.DataFrame({"time_s": self.power_w.index.to_numpy(float) * self.bucket_s,
                             "bucket_s": self.bucket_s, "power_w": self.power_w.to_numpy(float),
                             "nodes": self.nodes.reindex(self.power_w.index).to_numpy(np.int64)})


# A trace may span years with a handful of samples (a model card's run rebuilt from its
# total): its buckets are widened so that no device has more than this many.
MAX_TRACE_BUCKETS = 200_000
