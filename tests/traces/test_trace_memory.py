"""A trace report stays in bounded memory: run under an address-space cap it must give the exact energy.

The trace: 256 GPUs x 3 days at 30 s (2.2 M rows, 50 MB). The report that
built per-device 10 s buckets before issue 23 peaked at 3.3 GB of address space
on it (3.0 GB resident); streamed, it peaks near 0.7 GB. The cap sits between, at
1.5 GB. Allocator settings that make the address space track what is used
(few malloc arenas, Arrow on the system allocator, two threads) are set for the
child, so the cap measures the report, not how many cores the machine has. No
wall-time assertion: the timeout only catches a hang.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

CAP_BYTES = 1536 << 20
DEVICES, STEPS, PERIOD_S = 256, 3 * 2880, 30.0
T0 = 1_700_000_000.0

CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]), int(sys.argv[1])))
from olmo_green.cli import cli
cli.main(args=["report", "--trace", sys.argv[2], "--intensity", "0.5", "--format", "json"],
         prog_name="olmo-green")
"""


def _write(path) -> float:
    """The trace, time-major, and its exact energy by NumPy's trapezoid per device."""
    import pyarrow as pa
    from pyarrow import csv

    time_s = T0 + np.arange(STEPS) * PERIOD_S
    base = np.round(350 + 250 * np.sin(np.arange(STEPS) / 45.0), 1)
    power = base[:, None] + 0.5 * np.arange(DEVICES)[None, :]  # (steps, devices)
    table = pa.table({"time_s": np.repeat(time_s, DEVICES),
                      "device": pa.array(np.tile(np.arange(DEVICES), STEPS).astype(str)),
                      "power_w": power.ravel()})
    csv.write_csv(table, str(path))
    return float(sum(np.trapezoid(power[:, d], time_s) for d in range(DEVICES)))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS caps address space on Linux")
def test_a_2m_row_trace_reports_exactly_under_a_1_5_gb_cap(tmp_path):
    path = tmp_path / "node.csv"
    want_j = _write(path)
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "OMP_NUM_THREADS": "2",
           "ARROW_DEFAULT_MEMORY_POOL": "system"}
    result = subprocess.run([sys.executable, "-c", CHILD, str(CAP_BYTES), str(path)], capture_output=True,
                            text=True, env=env, timeout=1800)
    assert result.returncode == 0, result.stderr[-2000:]
    run = json.loads(result.stdout)["runs"][0]
    assert run["gpu_energy_mwh"] * 3.6e9 == pytest.approx(want_j, rel=1e-6)
    assert sum(d["energy_j"] for d in run["devices"]) == pytest.approx(want_j, rel=1e-6)
