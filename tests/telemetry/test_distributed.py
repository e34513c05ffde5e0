"""Two ranks in a gloo group: one record per node, no double counting on a shared node."""

import os
import re
import socket
import subprocess
import sys

import pytest

from olmo_green import record as rr
from tests.telemetry.test_meter import record_total_j

ROOT = __file__.rsplit("/tests/", 1)[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_group(run_dir, nodes: list[str]) -> list[float]:
    port, procs = _free_port(), []
    for rank, node in enumerate(nodes):
        env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
               "WORLD_SIZE": str(len(nodes))}
        command = [sys.executable, "-m", "tests.telemetry.dist_worker", str(run_dir), node]
        procs.append(subprocess.Popen(command,
                                      cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True))
    outputs = [p.communicate(timeout=1200)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * len(nodes), outputs
    return [float(re.search(r"energy_j=(\S+)", out).group(1)) for out in outputs]


@pytest.mark.slow
def test_ranks_sharing_a_node_count_it_once_and_nodes_are_summed(tmp_path):
    totals = _run_group(tmp_path, ["nodeA", "nodeA", "nodeB"])  # ranks 0 and 1 share nodeA
    assert rr.node_names(tmp_path) == ["nodeA", "nodeB"]  # one record per node
    assert len({t for t in totals}) == 1  # every rank sees the same all-reduced total
    assert totals[0] == pytest.approx(record_total_j(tmp_path), rel=1e-3)  # both nodes, neither twice
    assert rr.read_steps(tmp_path)["energy_j"].sum() == pytest.approx(totals[0], rel=1e-3)
