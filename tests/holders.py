"""Another process that takes something (a run's lock, a meter) and holds it while a test runs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def held_by_another_process(take: str, *args: str) -> Iterator[subprocess.Popen]:
    """Run the Python statements `take` (with `args` in sys.argv[1:]) in a child process, yield the child
    once they have run, and kill it afterwards, so that the kernel frees whatever it held."""
    script = f"import sys, time\n{take}\nprint('held', flush=True)\ntime.sleep(60)"
    holder = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()
