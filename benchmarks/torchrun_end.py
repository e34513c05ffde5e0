"""Finding 14, repeated: does a two-rank CPU run under torchrun end cleanly, under load?

Runs `torchrun --nproc-per-node 2 -m olmo_green.cli train --model tiny --save-interval 3
--max-steps 6` (gloo, simulated telemetry, byte data) N times while `stress --cpu 2`
loads the machine, and counts how each run ended:

- abort: a rank said `terminate called` or died of SIGABRT (torchrun prints "Signal 6");
- lost: report.md or dashboard.html missing from the run directory;
- nonzero: torchrun's exit code was not 0;
- hang: the run passed --hang-s (killed).

    python benchmarks/torchrun_end.py [--runs 10] [--stress-cpu 2] [--set KEY=VALUE ...]
                                      [--keep DIR] [--results]

The launch is the one tests/safety/test_torchrun_end.py uses (simulated mosaicml-a100, whose
report needs no sensor; the `local` profile on a machine without one never writes a report),
with micro-batch 4 so that the global batch of 8 divides into 2 ranks x 4. `--set` adds train
settings (async_checkpoint=true: the background checkpoint writer; telemetry.metrics_port=N:
the metrics server). --results appends the section to RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ABORT = re.compile(r"terminate called|SIGABRT|Signal 6")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _command(run_dir: Path, data: Path, settings: list[str]) -> list[str]:
    extra = [arg for setting in settings for arg in ("--set", setting)]
    return [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
            "--master-port", str(_free_port()), "-m", "olmo_green.cli", "train",
            "--model", "tiny", "--hardware", "mosaicml-a100", "--simulate", "--data", str(data),
            "--run-dir", str(run_dir), "--save-interval", "3", "--max-steps", "6",
            "--set", "batch.micro_batch_size=4", "--set", "model.sequence_length=32",
            "--set", "progress=false", *extra]


def one_run(run_dir: Path, command: list[str], hang_s: float) -> tuple[set[str], float, str]:
    """The ways this run ended badly (empty: clean), its wall time, and its output."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    start = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env,
                              timeout=hang_s, cwd=ROOT)
    except subprocess.TimeoutExpired as hung:
        return {"hang"}, time.monotonic() - start, str(hung.stdout or "") + str(hung.stderr or "")
    said = done.stdout + done.stderr
    bad = set()
    if ABORT.search(said) or done.returncode == -signal.SIGABRT:
        bad.add("abort")
    if not (run_dir / "report.md").is_file() or not (run_dir / "dashboard.html").is_file():
        bad.add("lost")
    if done.returncode != 0:
        bad.add("nonzero")
    return bad, time.monotonic() - start, said


def _stress(cpus: int) -> subprocess.Popen | None:
    if cpus <= 0:
        return None
    stress = shutil.which("stress")
    if stress is None:
        raise SystemExit("stress is not installed: install it (apt-get install stress), "
                         "or pass --stress-cpu 0")
    return subprocess.Popen([stress, "--cpu", str(cpus)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--stress-cpu", type=int, default=2, help="stress --cpu N beside the runs (0: none)")
    parser.add_argument("--hang-s", type=float, default=900, help="a run this long is a hang")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--keep", type=Path, help="keep run folders and logs here")
    parser.add_argument("--results", action="store_true", help="append the section to RESULTS.md")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.model.helpers import byte_data

    work = args.keep or Path(tempfile.mkdtemp(prefix="torchrun_end_"))
    data = byte_data(work / "data")
    counts: Counter[str] = Counter()
    times = []
    load = _stress(args.stress_cpu)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # killed: still stop the load below
    try:
        for attempt in range(args.runs):
            run_dir = work / f"run{attempt:02d}"
            command = _command(run_dir, data, args.settings)
            bad, wall_s, said = one_run(run_dir, command, args.hang_s)
            (work / f"run{attempt:02d}.log").write_text(said, encoding="utf-8")
            counts.update(bad or {"clean"})
            times.append(wall_s)
            print(f"run {attempt + 1}/{args.runs}: {', '.join(sorted(bad)) or 'clean'} ({wall_s:.0f} s)",
                  flush=True)
    finally:
        if load is not None:
            os.killpg(load.pid, signal.SIGTERM)
            load.wait()
    section = _section(args, counts, times)
    print(section)
    if args.results:
        with open(Path(__file__).parent / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write("\n" + section)
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if counts["clean"] == args.runs else 1)


def _section(args: argparse.Namespace, counts: Counter[str], times: list[float]) -> str:
    import torch

    load = f"`stress --cpu {args.stress_cpu}`" if args.stress_cpu else "no added load"
    return (f"## Distributed run end (benchmarks/torchrun_end.py, issue 24 finding 14)\n\n"
            f"{date.today().isoformat()}, {os.cpu_count()} cores ({platform.machine()}), Python "
            f"{platform.python_version()}, torch {torch.__version__}, {load} beside the runs. "
            f"`torchrun --nproc-per-node 2` (gloo, CPU) `train --model tiny --hardware mosaicml-a100 "
            f"--simulate --save-interval 3 --max-steps 6{''.join(' --set ' + s for s in args.settings)}`, "
            f"{args.runs} runs, "
            f"{min(times):.0f}-{max(times):.0f} s each.\n\n"
            "| runs | clean | rank aborts | report/dashboard lost | nonzero exits | hangs |\n"
            "|---:|---:|---:|---:|---:|---:|\n"
            f"| {args.runs} | {counts['clean']} | {counts['abort']} | {counts['lost']} | "
            f"{counts['nonzero']} | {counts['hang']} |\n")


if __name__ == "__main__":
    main()
