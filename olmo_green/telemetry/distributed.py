"""Which process samples which node, and sums over nodes (torch.distributed when initialised).

One process per node samples it: the lowest global rank among those that
share a node name (the hostname unless given). The others keep step windows
but no sensors, so a node shared by eight ranks is counted once. torch is not
imported here: if no one has imported torch.distributed, it is not in use.
"""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass


def _dist():
    """torch.distributed if the process group is up, else None."""
    dist = sys.modules.get("torch.distributed")
    if dist is None or not dist.is_available() or not dist.is_initialized():
        return None
    return dist


@dataclass(frozen=True)
class NodeGroup:
    rank: int
    world_size: int
    node: str
    is_sampler: bool  # this process samples its node

    @classmethod
    def discover(cls, node: str | None = None) -> NodeGroup:
        node = node or socket.gethostname().split(".")[0]
        dist = _dist()
        if dist is None or dist.get_world_size() == 1:
            return cls(0, 1, node, True)
        names: list[str | None] = [None] * dist.get_world_size()
        dist.all_gather_object(names, node)
        rank = dist.get_rank()
        return cls(rank, len(names), node, names.index(node) == rank)

    @property
    def is_writer(self) -> bool:
        """Global rank 0 writes the run-wide files (steps.csv)."""
        return self.rank == 0

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum over all processes; every rank must call it (a collective)."""
        dist = _dist()
        if dist is None or self.world_size == 1:
            return list(values)
        import torch

        device = "cuda" if dist.get_backend() == "nccl" else "cpu"
        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(tensor)
        return tensor.tolist()
