"""Soak: a long `olmo-green train` with telemetry at 10 ms; is anything leaking?

Runs `olmo-green train --model tiny --hardware lumi --simulate` in a child
process with `telemetry.sampling_interval_s=0.01` for N minutes, and every
`--every-s` seconds reads from outside (so the probe costs the child nothing):
its resident memory (VmRSS) and thread count from /proc, the optimizer steps
done, the sample rows recorded (Parquet footers + lines of the open CSV chunk)
and the record's size on disk. At the end it stops the child with SIGTERM (as
SLURM does) and expects the preempted exit code.

    python benchmarks/soak.py [--minutes 30] [--interval-s 0.01] [--every-s 30] [--run-dir DIR]

Prints a table and a verdict:
- memory flat: RSS over the last third of the run within 10 % (or 64 MiB) of
  its level after the warm-up (the first sixth);
- no thread leak: the thread count after the warm-up never exceeds its
  warm-up level (+1 for the short-lived Parquet converter of a chunk roll);
- records linear: sample rows against time fit a line (R^2 >= 0.99) and the
  rate in the second half is within 20 % of the first half's.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

PREEMPTED_EXIT_CODE = 143


@dataclass
class Probe:
    elapsed_s: float
    steps: int
    rss_mib: float
    threads: int
    sample_rows: int
    record_mib: float


def proc_status(pid: int) -> tuple[float, int]:
    """(VmRSS in MiB, thread count) of a live process, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    rss_kib = float(fields["VmRSS"].split()[0])
    return rss_kib / 1024, int(fields["Threads"])


def sample_rows(run_dir: Path) -> int:
    """Rows recorded so far: Parquet footers (no data read) plus lines of any CSV chunk."""
    rows = 0
    for path in (run_dir / "telemetry").glob("*"):
        try:
            if path.suffix == ".parquet":
                rows += pq.ParquetFile(path).metadata.num_rows
            elif path.suffix == ".csv":
                rows += max(0, path.read_bytes().count(b"\n") - 1)  # minus the header
        except (OSError, ValueError):
            continue  # renamed or half-written between listing and reading: next probe sees it
    return rows


def steps_done(run_dir: Path) -> int:
    path = run_dir / "steps.csv"
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text().splitlines() if line.endswith(",train"))


def record_mib(run_dir: Path) -> float:
    files = [p for p in run_dir.rglob("*") if p.is_file() and "checkpoints" not in p.parts]
    return sum(p.stat().st_size for p in files) / 2**20


def start_training(run_dir: Path, interval_s: float, log_path: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "olmo_green.cli", "train", "--model", "tiny", "--hardware", "lumi",
               "--simulate", "--run-dir", str(run_dir), "--max-steps", "100000000",
               "--save-interval", "500", "--set", f"telemetry.sampling_interval_s={interval_s}",
               "--set", "progress=false"]
    with open(log_path, "w") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def soak(run_dir: Path, minutes: float, interval_s: float, every_s: float) -> tuple[list[Probe], int]:
    proc = start_training(run_dir, interval_s, run_dir.parent / f"{run_dir.name}.log")
    probes: list[Probe] = []
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < minutes * 60:
            time.sleep(min(every_s, max(0.0, minutes * 60 - (time.monotonic() - t0))))
            if proc.poll() is not None:
                raise SystemExit(f"training exited early with {proc.returncode}; see its log")
            rss_mib, threads = proc_status(proc.pid)
            probes.append(Probe(time.monotonic() - t0, steps_done(run_dir), rss_mib, threads,
                                sample_rows(run_dir), record_mib(run_dir)))
            print(format_row(probes[-1]), flush=True)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # preemption: the trainer saves and closes the record
    return probes, proc.wait(timeout=300)


def format_row(p: Probe) -> str:
    return (f"| {p.elapsed_s / 60:6.1f} | {p.steps:7,d} | {p.rss_mib:8.1f} | {p.threads:7d} | "
            f"{p.sample_rows:11,d} | {p.record_mib:10.2f} |")


HEADER = ("| min | steps | RSS (MiB) | threads | sample rows | record (MiB) |\n"
          "|---:|---:|---:|---:|---:|---:|")


def linear_fit_r2(xs: list[float], ys: list[float]) -> float:
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    syy = sum((y - mean_y) ** 2 for y in ys)
    return 1.0 if syy == 0 else (sxy * sxy) / (sxx * syy)


def rate(probes: list[Probe]) -> float:
    """Sample rows per second between the first and last probe of a span."""
    return (probes[-1].sample_rows - probes[0].sample_rows) / (probes[-1].elapsed_s - probes[0].elapsed_s)


def verdict(probes: list[Probe], exit_code: int, interval_s: float) -> list[str]:
    warm = probes[: max(2, len(probes) // 6)]
    after = probes[len(warm):]
    last = probes[-max(2, len(probes) // 3):]
    rss_warm, rss_last = max(p.rss_mib for p in warm), statistics.median(p.rss_mib for p in last)
    rss_ok = rss_last <= max(rss_warm * 1.10, rss_warm + 64)
    threads_warm, threads_max = max(p.threads for p in warm), max(p.threads for p in after)
    threads_ok = threads_max <= threads_warm + 1
    r2 = linear_fit_r2([p.elapsed_s for p in after], [float(p.sample_rows) for p in after])
    half = len(after) // 2
    rates = rate(after[: half + 1]), rate(after[half:])
    linear_ok = r2 >= 0.99 and 0.8 <= rates[1] / rates[0] <= 1.25
    devices = max(1, round(rates[0] * interval_s)) if rates[0] else 1
    lines = [
        f"memory flat:      {'yes' if rss_ok else 'NO'} (RSS {rss_warm:.0f} MiB after warm-up, "
        f"median {rss_last:.0f} MiB over the last third)",
        f"no thread leak:   {'yes' if threads_ok else 'NO'} (warm-up max {threads_warm}, "
        f"later max {threads_max})",
        f"records linear:   {'yes' if linear_ok else 'NO'} (R^2 {r2:.4f}; {rates[0]:.0f} then "
        f"{rates[1]:.0f} rows/s, about {devices} devices x {rates[0] / devices:.0f} rounds/s "
        f"for {1 / interval_s:.0f} asked)",
        f"SIGTERM exit:     {'yes' if exit_code == PREEMPTED_EXIT_CODE else 'NO'} (code {exit_code})",
    ]
    ok = rss_ok and threads_ok and linear_ok and exit_code == PREEMPTED_EXIT_CODE
    return lines + [f"verdict: {'PASS' if ok else 'FAIL'}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--interval-s", type=float, default=0.01, help="telemetry sampling period")
    parser.add_argument("--every-s", type=float, default=30.0, help="probe period")
    parser.add_argument("--run-dir", type=Path, help="default: a fresh temporary folder")
    args = parser.parse_args()
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="olmo-green-soak-")) / "run"
    print(f"soak: {args.minutes:g} min, sampling every {args.interval_s * 1000:g} ms, run {run_dir}; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    print(HEADER, flush=True)
    probes, exit_code = soak(run_dir, args.minutes, args.interval_s, args.every_s)
    if len(probes) < 6:
        raise SystemExit("too few probes for a verdict: run longer or probe more often")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    print("\n".join(verdict(probes, exit_code, args.interval_s)))


if __name__ == "__main__":
    main()
