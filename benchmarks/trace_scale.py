"""Trace scale (issue 23): `olmo-green report --trace` on cluster-size power logs, in bounded memory.

Each case writes a time-major trace (every device's sample of one instant, then
the next instant, as a cluster's logger writes it) under /tmp, computes the
exact energy with an independent NumPy trapezoid while writing, then runs in
fresh processes (peak RSS is each one's own):

- `read`: pyarrow reading the whole CSV, and nothing else (the floor);
- `stream`: pyarrow's incremental CSV reader, block by block (what a streaming reader can do);
- `duckdb`: DuckDB summing the file's power (only where `duckdb` imports);
- `report`: `olmo-green report --trace FILE --format json`;
- `dashboard`: `olmo-green dashboard --trace FILE -o PAGE.html` (plotly.js inlined, ~4.8 MB).

It prints a table (rows, MB, seconds, peak RSS, report/read ratio, relative
error of the energy; the dashboard's seconds, peak RSS, time over pyarrow's read
and page size) and deletes the files.

    nice python benchmarks/trace_scale.py [--cases big,huge,table19,linear] [--scale 1.0]

Targets: 8.1 M rows exact (1e-6) under 2 GB in at most 15x pyarrow's read;
32 M rows under 2 GB and linear in rows; the Table 19 traces under 1 GB; the
dashboard of such a trace under 10 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fresh_process import run_fresh

from olmo_green.units import J_PER_MWH, S_PER_HOUR

T0 = 1_722_038_400.0  # 2024-07-27 UTC
DAY_S = 86_400.0
GB = 1 << 30

READ = """
import sys
from pyarrow import csv
table = csv.read_csv(sys.argv[1])
print(table.num_rows)
"""

STREAM = """
import sys
from pyarrow import csv
rows = 0
for batch in csv.open_csv(sys.argv[1], read_options=csv.ReadOptions(block_size=8 << 20)):
    rows += batch.num_rows
print(rows)
"""

DUCKDB = """
import sys
import duckdb
print(duckdb.sql(f"select count(*), sum(power_w) from read_csv('{sys.argv[1]}')").fetchall())
"""


@dataclass
class Case:
    name: str
    devices: int
    days: float
    period_s: float

    @property
    def rows(self) -> int:
        return self.devices * int(self.days * DAY_S / self.period_s)


CASES = {
    "big": [Case("1,024 GPUs x 11 d x 120 s", 1024, 11, 120.0)],
    "huge": [Case("2,048 GPUs x 11 d x 60 s", 2048, 11, 60.0)],
    "linear": [Case(f"2,048 GPUs x {d:g} d x 60 s", 2048, d, 60.0) for d in (2.75, 5.5)],
    # OLMo 2 Table 19: 7B on Jupiter (524 k rows) and 13B on Augusta (514 devices x 1,000 h at 30 min)
    "table19": [Case("7B Jupiter: 1,024 GPUs x 512 h at 1 h", 1024, 512 / 24, S_PER_HOUR),
                Case("13B Augusta: 514 GPUs x 1,000 h at 30 min", 514, 1000 / 24, 1800.0)],
}


def write_trace(case: Case, path: Path, scale: float) -> float:
    """The case's trace as CSV, written instant by instant in slabs; returns its exact energy (J)."""
    import pyarrow as pa
    from pyarrow import csv

    steps = max(2, int(case.days * scale * DAY_S / case.period_s))
    devices = np.arange(case.devices)
    names = pa.array([str(d) for d in devices])
    rng = np.random.default_rng(23)
    phase = rng.uniform(0, 2 * np.pi, case.devices)
    total_j, previous = 0.0, None
    slab = max(1, 2_000_000 // case.devices)
    with csv.CSVWriter(str(path), pa.schema([("time_s", pa.float64()), ("device", pa.string()),
                                             ("power_w", pa.float64())])) as writer:
        for start in range(0, steps, slab):
            index = np.arange(start, min(steps, start + slab))
            time_s = T0 + index * case.period_s
            # whole milliwatts, as loggers print them: the file holds exactly what we integrate
            power = np.round(400 + 250 * np.sin(index[:, None] / 37.0 + phase[None, :]), 3)
            if previous is not None:  # the interval joining the slabs
                total_j += float(((power[0] + previous[1]) / 2 * (time_s[0] - previous[0])).sum())
            total_j += float((np.diff(time_s)[:, None] * (power[1:] + power[:-1]) / 2).sum())
            previous = (time_s[-1], power[-1])
            table = pa.table({"time_s": np.repeat(time_s, case.devices),
                              "device": pa.DictionaryArray.from_arrays(np.tile(devices, len(index)), names)
                              .cast(pa.string()),
                              "power_w": power.ravel()})
            writer.write_table(table)
    return total_j


def run_peak(args: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Wall seconds, the process's own peak RSS (bytes, by GNU time's %M or a wrapper), stdout."""
    wrapper = ("import os,resource,subprocess,sys;p=subprocess.run(sys.argv[1:]);"
               "peak=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss*1024;"
               "sys.stderr.write('\\nPEAK %d\\n' % peak);"
               "sys.exit(p.returncode)")
    seconds, proc = run_fresh([sys.executable, "-c", wrapper, *args], " ".join(args[:4]), env=env)
    peak = float(proc.stderr.rsplit("PEAK ", 1)[1].split()[0])
    return seconds, peak, proc.stdout


def run_case(case: Case, scale: float, tmp: Path, duckdb_path: str | None) -> dict:
    path = tmp / "trace.csv"
    want_j = write_trace(case, path, scale)
    size = path.stat().st_size
    rows = int(case.rows * scale)
    read_s, read_peak, _ = run_peak([sys.executable, "-c", READ, str(path)])
    stream_s, stream_peak, _ = run_peak([sys.executable, "-c", STREAM, str(path)])
    duck = None
    if duckdb_path:
        env = {**os.environ, "PYTHONPATH": duckdb_path}
        duck = run_peak([sys.executable, "-c", DUCKDB, str(path)], env=env)[:2]
    olmo = str(Path(sys.executable).with_name("olmo-green"))
    report_s, report_peak, out = run_peak([olmo, "report", "--trace", str(path), "--intensity", "0.5",
                                           "--format", "json"])
    got_j = json.loads(out)["runs"][0]["gpu_energy_mwh"] * J_PER_MWH
    page = tmp / "dashboard.html"
    dash_s, dash_peak, _ = run_peak([olmo, "dashboard", "--trace", str(path), "--intensity", "0.5",
                                     "-o", str(page)])
    page_mb = page.stat().st_size / 1e6
    page.unlink()
    path.unlink()
    return {"case": case.name, "rows": rows, "mb": size / 1e6, "read_s": read_s, "read_gb": read_peak / GB,
            "stream_s": stream_s, "stream_gb": stream_peak / GB,
            "duckdb_s": duck[0] if duck else None, "duckdb_gb": duck[1] / GB if duck else None,
            "report_s": report_s, "report_gb": report_peak / GB, "ratio": report_s / read_s,
            "rel_error": abs(got_j - want_j) / want_j,
            "dash_s": dash_s, "dash_gb": dash_peak / GB, "dash_ratio": dash_s / read_s, "page_mb": page_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="big,table19,linear,huge")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of each case's days (quick runs)")
    parser.add_argument("--duckdb", help="a folder holding the duckdb package (pip install --target DIR)")
    args = parser.parse_args()
    machine = platform.processor() or platform.machine()
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} {platform.node()} {machine} "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    header = ("case", "rows", "MB", "pyarrow read s", "GB", "stream s", "duckdb s", "report s", "report GB",
              "report/read", "rel. error", "dashboard s", "dashboard GB", "dashboard/read", "page MB")
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    with tempfile.TemporaryDirectory(prefix="trace_scale_") as tmp:
        for group in args.cases.split(","):
            for case in CASES[group]:
                r = run_case(case, args.scale, Path(tmp), args.duckdb)
                duck = f"{r['duckdb_s']:.1f}" if r["duckdb_s"] is not None else "-"
                print(f"| {r['case']} | {r['rows']:,} | {r['mb']:.0f} | {r['read_s']:.1f} | "
                      f"{r['read_gb']:.2f} | "
                      f"{r['stream_s']:.1f} | {duck} | {r['report_s']:.1f} | {r['report_gb']:.2f} | "
                      f"{r['ratio']:.1f} | {r['rel_error']:.1e} | {r['dash_s']:.1f} | {r['dash_gb']:.2f} | "
                      f"{r['dash_ratio']:.1f} | {r['page_mb']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
