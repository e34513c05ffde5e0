"""Record scale: `olmo-green report` and `dashboard` on cluster-sized run records (issue 10).

Synthetic records are written in the documented run-record format (olmo_green/record/:
config.yaml, steps.csv, telemetry/<node>.<seq>.parquet chunks of samples), then
read by the real CLI in a fresh process each time (wall time and peak RSS).

Three measurements:

1. Sampling rate. A record of 8 nodes x 4 devices x 2 chunks, the same wall time
   sampled at 1x, 4x, 8x and 16x the rate (8x = 1 M samples a chunk, 16 M in all: the
   issue's record; 16x = 32 M).
   The first `report` builds the chunk summaries (O(samples)); the second reads
   them (O(chunks + buckets + steps)). Same for `dashboard`. Ratios: second /
   first, and 16x / 1x with summaries present.
2. LUMI-like chunk count: 256 nodes x 105 chunks (26,880 chunk summaries), each
   node with 8 GCDs (amdsmi counter and power) and Cray node, cpu and memory
   counters. Summaries are built by the summary builder (summaries/record.py)
   in a process pool, as the nodes would have written them live, then
   `report` and `dashboard` are timed.
3. How the cost grows with buckets (run length / summary_bucket_s) at that
   chunk count: the same record at 2x and 4x its wall time per chunk.

Each timed command runs in a fresh process; the reference each ratio divides by
is measured in the same run.

    python benchmarks/record_scale.py [--quick] [--keep DIR] [--results]

--quick shrinks every record (a smoke test of the script, used by the tests).
--results appends the Markdown section to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from fresh_process import run_fresh

from olmo_green.units import S_PER_HOUR

T0_S = 1.7e9 + S_PER_HOUR  # an hour boundary: buckets and hours line up as in a real record
GCD_W, NODE_W, CPU_W, MEM_W = 380.0, 3400.0, 300.0, 150.0


@dataclass(frozen=True)
class Shape:
    """A synthetic record: nodes x chunks, each chunk `samples` rounds of every device."""

    nodes: int
    chunks: int
    rounds_per_chunk: int  # sample rounds per chunk (each round reads every device once)
    interval_s: float  # seconds between rounds
    gcds: int = 8
    cray: bool = True  # node, cpu and memory counters as on LUMI
    step_s: float = 2.0  # one optimizer step this often (steps.csv rows)

    @property
    def devices(self) -> int:
        return self.gcds + (3 if self.cray else 0)

    @property
    def samples(self) -> int:
        return self.nodes * self.chunks * self.rounds_per_chunk * self.devices

    @property
    def chunk_s(self) -> float:
        return self.rounds_per_chunk * self.interval_s


def _chunk_frame(node: int, chunk: int, shape: Shape, rng: np.random.Generator) -> pd.DataFrame:
    """One chunk: every device read each round; GCDs give power and a counter, Cray counters only."""
    rounds = shape.rounds_per_chunk
    time_s = T0_S + (chunk * rounds + np.arange(rounds)) * shape.interval_s
    name = f"nid{node:06d}"
    frames = []
    devices = [(str(g), "gpu", "amdsmi", GCD_W) for g in range(shape.gcds)]
    if shape.cray:
        devices += [("node", "node", "cray_pm", NODE_W), ("cpu", "cpu", "cray_pm", CPU_W),
                    ("memory", "dram", "cray_pm", MEM_W)]
    for index, (device, domain, source, watts) in enumerate(devices):
        power = watts * (0.85 + 0.1 * rng.random(rounds))
        # The counter a device keeps from the start of the run: continuous across chunks.
        start_j = watts * 0.9 * chunk * shape.chunk_s + index
        energy = start_j + np.cumsum(power) * shape.interval_s
        frames.append(pd.DataFrame({
            "time_s": time_s + 0.001 * index, "node": name, "device": device, "domain": domain,
            "power_w": power if source == "amdsmi" else np.nan, "energy_j": energy, "source": source}))
    return pd.concat(frames, ignore_index=True)


def _write_node(args: tuple[Path, int, Shape]) -> None:
    run_dir, node, shape = args
    rng = np.random.default_rng(node)
    folder = run_dir / "telemetry"
    for chunk in range(shape.chunks):
        frame = _chunk_frame(node, chunk, shape, rng)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, folder / f"nid{node:06d}.{chunk:06d}.parquet")


def _summarise_node(args: tuple[Path, int]) -> None:
    from olmo_green.summaries.record import record_settings, summarised_chunks

    run_dir, node = args
    summarised_chunks(run_dir, f"nid{node:06d}", record_settings(run_dir), save=True)


def write_record(run_dir: Path, shape: Shape, summarise: bool, workers: int) -> None:
    """The record's files; with `summarise`, each node's summaries as its writer would leave them.
    A record already complete under --keep is reused (its missing summaries are built)."""
    if (run_dir / "record-complete").exists():
        if summarise:
            with multiprocessing.Pool(workers) as pool:
                pool.map(_summarise_node, [(run_dir, n) for n in range(shape.nodes)], chunksize=1)
        return
    (run_dir / "telemetry").mkdir(parents=True, exist_ok=True)
    config = {"hardware": "lumi", "telemetry": {"sampling_interval_s": shape.interval_s,
                                                "summary_bucket_s": 10.0}}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    span_s = shape.chunks * shape.chunk_s
    starts = T0_S + np.arange(0.0, span_s - shape.step_s, shape.step_s)
    pd.DataFrame({"step": np.arange(1, len(starts) + 1), "time_start_s": starts,
                  "time_end_s": starts + shape.step_s, "tokens": 4_194_304, "loss": 3.0, "lr": 3e-4,
                  "energy_j": np.nan, "phase": "train", "attempt": 1},
                 ).to_csv(run_dir / "steps.csv", index=False)
    with multiprocessing.Pool(workers) as pool:
        pool.map(_write_node, [(run_dir, n, shape) for n in range(shape.nodes)], chunksize=1)
        (run_dir / "record-complete").touch()
        if summarise:
            pool.map(_summarise_node, [(run_dir, n) for n in range(shape.nodes)], chunksize=1)


def timed(args: list[str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in GiB, last line of stderr) of an olmo-green command in a fresh process."""
    code = ("import resource, sys, runpy; sys.argv = ['olmo-green'] + sys.argv[1:]\n"
            "try:\n    from olmo_green.cli import main; main()\n"
            "except SystemExit as e:\n    code = e.code\nelse:\n    code = 0\n"
            "print('maxrss_kib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
            "sys.exit(code)\n")
    seconds, done = run_fresh([sys.executable, "-c", code, *args], f"olmo-green {' '.join(args)}")
    rss_kib = next(int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("maxrss_kib"))
    return seconds, rss_kib / 2**20, done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def report_args(run_dir: Path) -> list[str]:
    return ["report", str(run_dir), "--format", "json", "-o", str(run_dir / "bench-report.json")]


def dashboard_args(run_dir: Path) -> list[str]:
    return ["dashboard", str(run_dir), "-o", str(run_dir / "bench-dashboard.html")]


def gpu_mwh(run_dir: Path) -> float:
    import json

    return float(json.loads((run_dir / "bench-report.json").read_text())["runs"][0]["gpu_energy_mwh"])


def rate_scaling(root: Path, quick: bool, workers: int) -> list[str]:
    """Part 1: flat in samples per chunk; second reads against first."""
    rows, lines = [], []
    base_rounds = 1_000 if quick else 31_250  # x 4 devices x 16 = 2 M samples a chunk at 16x
    for factor in (1, 4, 8, 16):  # 8x: the 16 M-sample record
        shape = Shape(nodes=2 if quick else 8, chunks=2, rounds_per_chunk=base_rounds * factor,
                      interval_s=1.6 / factor, gcds=4, cray=False)
        run_dir = root / f"rate{factor}x"
        write_record(run_dir, shape, summarise=False, workers=workers)
        first_r = timed(report_args(run_dir))
        mwh_raw = gpu_mwh(run_dir)
        second_r = timed(report_args(run_dir))
        mwh_summary = gpu_mwh(run_dir)
        first_d = _fresh_dashboard(run_dir)
        second_d = timed(dashboard_args(run_dir))
        rows.append((factor, shape.samples, first_r, second_r, first_d, second_d, mwh_raw, mwh_summary))
        if mwh_raw != mwh_summary:  # the saved summaries must give what building them gave
            raise SystemExit(f"{factor}x: first report {mwh_raw!r} MWh, second {mwh_summary!r} MWh")
        print(f"rate {factor}x: report {first_r[0]:.2f} s then {second_r[0]:.2f} s, dashboard "
              f"{first_d[0]:.2f} s then {second_d[0]:.2f} s", flush=True)
        shutil.rmtree(run_dir)
    lines.append("| samples/chunk | samples | report 1st s | report 2nd s | 1st/2nd | dashboard 1st s "
                 "| dashboard 2nd s | 1st/2nd | peak GiB (2nd report / dashboard) |")
    lines.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for factor, samples, fr, sr, fd, sd, _, _ in rows:
        lines.append(f"| {factor}x | {samples:,} | {fr[0]:.2f} | {sr[0]:.2f} | {fr[0] / sr[0]:.1f}x | "
                     f"{fd[0]:.2f} | {sd[0]:.2f} | {fd[0] / sd[0]:.1f}x | {sr[1]:.2f} / {sd[1]:.2f} |")
    flat_r = rows[-1][3][0] / rows[0][3][0]
    flat_d = rows[-1][5][0] / rows[0][5][0]
    lines.append("")
    lines.append(f"- With summaries present, 16x / 1x samples per chunk: report {flat_r:.2f}x, dashboard "
                 f"{flat_d:.2f}x (target within 1.5x).")
    lines.append("- Exactness against raw samples is tested (tests/summaries), not benchmarked: both reads "
                 "here come from summaries.")
    return lines


def _fresh_dashboard(run_dir: Path) -> tuple[float, float, str]:
    """The dashboard's first read: the summaries the report saved are removed first."""
    for path in (run_dir / "telemetry").glob("*.summary.parquet"):
        path.unlink()
    for kind in ("buckets", "domains"):
        for path in (run_dir / "telemetry").glob(f"*.{kind}.parquet"):
            path.unlink()
    return timed(dashboard_args(run_dir))


def chunk_count(root: Path, quick: bool, workers: int, nodes: int = 256,
                stretches: tuple[int, ...] = (1, 2, 4), keep: bool = False) -> list[str]:
    """Parts 2 and 3: LUMI's chunk count, then longer chunks (more buckets) at that count."""
    lines = ["| nodes x chunks | summaries | buckets per device | samples | report s | report GiB | "
             "dashboard s | dashboard GiB |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    print("\n".join(lines), flush=True)
    nodes, chunks = (8, 6) if quick else (nodes, 105)
    for stretch in stretches:
        shape = Shape(nodes=nodes, chunks=chunks, rounds_per_chunk=30 * stretch, interval_s=10.0)
        run_dir = root / f"lumi{nodes}x{stretch}"
        write_record(run_dir, shape, summarise=True, workers=workers)
        report = timed(report_args(run_dir))
        dashboard = timed(dashboard_args(run_dir))
        buckets = int(shape.chunks * shape.chunk_s / 10.0)
        lines.append(f"| {nodes} x {chunks} | {nodes * chunks:,} | {buckets:,} | {shape.samples:,} | "
                     f"{report[0]:.1f} | {report[1]:.2f} | {dashboard[0]:.1f} | {dashboard[1]:.2f} |")
        print(lines[-1], flush=True)
        if not keep:
            shutil.rmtree(run_dir)
    return lines


def machine() -> str:
    import torch

    return (f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
            f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, Python "
            f"{platform.python_version()}, torch {torch.__version__}, pandas {pd.__version__}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small records: a smoke test of the script")
    parser.add_argument("--keep", type=Path, help="write the records under DIR (default: a temp dir)")
    parser.add_argument("--results", action="store_true", help="append the section to RESULTS.md")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--part", choices=["rate", "chunks", "all"], default="all")
    parser.add_argument("--lumi-nodes", type=int, default=256, help="nodes of the chunk-count record")
    parser.add_argument("--stretches", default="1,2,4",
                        help="wall time per chunk, as multiples of 300 s (more buckets per chunk)")
    options = parser.parse_args()
    root = Path(options.keep or tempfile.mkdtemp(prefix="record-scale-"))
    root.mkdir(parents=True, exist_ok=True)
    lines = ["## Record scale (benchmarks/record_scale.py, issue 10)", "", machine(), ""]
    if options.part in ("rate", "all"):
        lines += ["Sampling rate, same wall time (8 nodes x 4 devices x 2 chunks):", ""]
        lines += rate_scaling(root, options.quick, options.workers) + [""]
    if options.part in ("chunks", "all"):
        lines += ["LUMI-like chunk count, summaries present (8 GCDs + Cray node/cpu/memory per node):", ""]
        stretches = tuple(int(x) for x in options.stretches.split(","))
        lines += chunk_count(root, options.quick, options.workers, options.lumi_nodes, stretches,
                             keep=options.keep is not None) + [""]
    text = "\n".join(lines)
    print(text)
    if options.results:
        with open(Path(__file__).parent / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write("\n" + text)
    if not options.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
