"""Report scale: `olmo-green report --trace` over a trace of N samples (default 10 million).

Prints the report's wall time and peak memory (RSS), and the ratio of each to a
reference that does the least a report must do: pandas reading the same CSV
(pyarrow engine). Each runs in a fresh process so peak RSS is its own.

    python benchmarks/report_scale.py [--samples 10000000] [--devices 128] [--keep DIR]

Targets (issue 5): under 30 s and 2 GB on 2 cores for 10 million samples.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPORT = """
import sys
from olmo_green.accounts import account_trace
from olmo_green.reports.formats import render
account = account_trace(sys.argv[1], hardware="mosaicml-a100")
text = render([account], "md")
print(f"{account.gpu_energy_mwh:.6f} MWh {account.emissions_tco2eq:.6f} t", file=sys.stderr)
"""

READ_ONLY = """
import sys
import pandas as pd
frame = pd.read_csv(sys.argv[1], engine="pyarrow")
print(len(frame), file=sys.stderr)
"""


def write_trace(path: Path, samples: int, devices: int, nodes: int) -> None:
    """A trace of `devices` GPUs on `nodes` nodes at 1 s, ~300 W with noise, in chunks."""
    import pyarrow as pa
    from pyarrow import csv

    per_device = samples // devices
    rng = np.random.default_rng(0)
    time_s = 1.7e9 + np.arange(per_device, dtype=float)
    with csv.CSVWriter(path, pa.schema([("time_s", pa.float64()), ("node", pa.string()),
                                        ("device", pa.string()), ("power_w", pa.float64())])) as writer:
        for d in range(devices):
            node = f"nid{d * nodes // devices:05d}"
            power = 300.0 + 50.0 * rng.standard_normal(per_device).clip(-3, 3)
            writer.write_table(pa.table({"time_s": time_s, "node": [node] * per_device,
                                         "device": [str(d % (devices // nodes))] * per_device,
                                         "power_w": power.round(1)}))


PEAK = "\nimport resource\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"


def run_child(code: str, trace: Path) -> tuple[float, float, str]:
    """Wall seconds (start-up included) and peak RSS (MiB) of `code` in a fresh Python process."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code + PEAK, str(trace)], capture_output=True, text=True,
                          check=True)
    wall_s = time.perf_counter() - start
    *result, peak_kib = done.stderr.strip().splitlines()  # Linux: ru_maxrss is in KiB
    return wall_s, int(peak_kib) / 1024.0, " ".join(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000_000)
    parser.add_argument("--devices", type=int, default=128)
    parser.add_argument("--nodes", type=int, default=16)
    parser.add_argument("--keep", type=Path, help="Folder for the trace (kept); default a temporary one.")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="report_scale."))
    folder.mkdir(parents=True, exist_ok=True)
    trace = folder / f"trace_{args.samples}.csv"
    if not trace.exists():
        start = time.perf_counter()
        write_trace(trace, args.samples, args.devices, args.nodes)
        size_mib = trace.stat().st_size / 2**20
        print(f"wrote {trace} ({size_mib:.0f} MiB) in {time.perf_counter() - start:.1f} s")
    ref_s, ref_mib, rows = run_child(READ_ONLY, trace)
    rep_s, rep_mib, result = run_child(REPORT, trace)
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"samples: {rows}  report: {result}")
    print(f"{'':28}{'wall (s)':>10}{'peak RSS (MiB)':>16}")
    print(f"{'pandas read_csv (pyarrow)':28}{ref_s:>10.2f}{ref_mib:>16.0f}")
    print(f"{'olmo-green report --trace':28}{rep_s:>10.2f}{rep_mib:>16.0f}")
    print(f"{'ratio report / read_csv':28}{rep_s / ref_s:>10.2f}{rep_mib / ref_mib:>16.2f}")
    if not args.keep:
        trace.unlink()


if __name__ == "__main__":
    main()
