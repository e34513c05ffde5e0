"""A trace's dashboard stays in bounded memory too: under the report's address-space cap
(tests/traces/test_trace_memory.py) the page of a 2.2 M-row trace is written, its energy exact and
its size far from the rows'. No wall-time assertion: the timeout only catches a hang."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.dashboards.trace_page import energy_j
from tests.traces.test_trace_memory import CAP_BYTES, _write

CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]), int(sys.argv[1])))
from olmo_green.cli import cli
cli.main(args=["dashboard", "--trace", sys.argv[2], "--intensity", "0.5", "-o", sys.argv[3]],
         prog_name="olmo-green")
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS caps address space on Linux")
def test_the_dashboard_of_a_2m_row_trace_under_a_1_5_gb_cap(tmp_path):
    path, page = tmp_path / "node.csv", tmp_path / "page.html"
    want_j = _write(path)
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "OMP_NUM_THREADS": "2",
           "ARROW_DEFAULT_MEMORY_POOL": "system"}
    result = subprocess.run([sys.executable, "-c", CHILD, str(CAP_BYTES), str(path), str(page)],
                            capture_output=True, text=True, env=env, timeout=1800)
    assert result.returncode == 0, result.stderr[-2000:]
    assert energy_j(page.read_text(encoding="utf-8")) == pytest.approx(want_j, rel=1e-6)
    assert page.stat().st_size < min(10 << 20, path.stat().st_size // 4)
