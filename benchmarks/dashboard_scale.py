"""Dashboard build time and file size for synthetic runs of 10^3, 10^5 and 10^6 steps.

    python benchmarks/dashboard_scale.py [--steps 1000 100000 1000000] [--devices 4]

Each run is one node of `--devices` accelerators sampled once a step (1 s),
with eval every 1,000 and a checkpoint every 5,000 steps. References measured
in the same process, on the same run:
- raw: the run record's size on disk (steps.csv plus telemetry/);
- naive: one Plotly figure with every raw power sample of every device,
  written by plotly's write_html with plotly.js embedded (what you get
  without downsampling; for one panel only, so it flatters the naive page).
Prints a Markdown table for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import plotly.graph_objects as go

from olmo_green import record as rr
from olmo_green.dashboards import build_dashboard
from olmo_green.dashboards.synthetic import SyntheticRun, write_synthetic_run

MB = 1e6


def _size_bytes(path: Path) -> int:
    if not path.is_dir():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _naive_page(run_dir: Path, out: Path) -> tuple[float, int, int]:
    """Seconds, bytes and samples of one un-downsampled power figure of every sample."""
    start = time.perf_counter()
    samples = rr.read_samples(run_dir)
    fig = go.Figure()
    for device, rows in samples.groupby("device"):
        fig.add_trace(go.Scatter(x=rows["time_s"].to_numpy(), y=rows["power_w"].to_numpy(), name=device))
    fig.write_html(out, include_plotlyjs=True)
    return time.perf_counter() - start, out.stat().st_size, len(samples)


def measure(steps: int, devices: int, folder: Path) -> dict:
    spec = SyntheticRun(steps=steps, nodes=1, devices_per_node=devices, eval_every=1000,
                        checkpoint_every=5000)
    run_dir = write_synthetic_run(folder / f"run{steps}", spec)
    raw_bytes = _size_bytes(run_dir / rr.STEPS_FILE) + _size_bytes(rr.telemetry_dir(run_dir))
    start = time.perf_counter()
    page = build_dashboard([run_dir], folder / f"dashboard{steps}.html")
    build_s = time.perf_counter() - start
    naive_s, naive_bytes, samples = _naive_page(run_dir, folder / f"naive{steps}.html")
    return {"steps": steps, "samples": samples, "raw_mb": raw_bytes / MB, "build_s": build_s,
            "page_mb": page.stat().st_size / MB, "naive_s": naive_s, "naive_mb": naive_bytes / MB}


def table(rows: list[dict]) -> str:
    lines = ["| steps | samples | run record (MB) | build (s) | page (MB) | page / record | "
             "naive page (MB) | naive (s) | naive / page |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['steps']:,} | {r['samples']:,} | {r['raw_mb']:.1f} | {r['build_s']:.1f} | "
                     f"{r['page_mb']:.2f} | {r['page_mb'] / r['raw_mb']:.2f} | {r['naive_mb']:.1f} | "
                     f"{r['naive_s']:.1f} | {r['naive_mb'] / r['page_mb']:.1f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--devices", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dashboard-scale-") as folder:
        rows = [measure(n, args.devices, Path(folder)) for n in args.steps]
    print(f"{time.strftime('%Y-%m-%d', time.gmtime())}, {platform.machine()}, {platform.processor() or '?'}, "
          f"Python {platform.python_version()}, plotly.js embedded in every page")
    print(table(rows))


if __name__ == "__main__":
    main()
