"""One command in a fresh process, timed: what the scale benchmarks measure each step with.

Each benchmark reads its own peak RSS from the process (how it is taken differs: the process's own
or its children's), so this only runs, times and stops the benchmark on a failure.
"""

from __future__ import annotations

import subprocess
import time


def run_fresh(argv: list[str], label: str,
              env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    """(wall seconds, start-up included; the finished process with its text output). A failure stops
    the benchmark, naming the command (`label`) and the end of its stderr: it has no figure to time."""
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{label} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, done
