"""Power logs -> RunAccount: what `report --trace FILE...` prints.

The account is built by reports/build.account_energy, as a run's is; a trace
adds what was read (each file's format, whether it was sniffed, its node, rows
read, dropped and N/A: lines in the notes and in JSON `trace`), and its swings
at the log's resolution (reports/swings.at_resolution).

traces/read.py is imported as a module (its names looked up at call time): it
imports olmo_green.reports, whose __init__ imports this module, so taking its
names here made a first `import olmo_green.traces.read` fail on a partial module.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from olmo_green.reports.account import RunAccount
from olmo_green.reports.swings import PowerSwings, at_resolution, power_swings
from olmo_green.summaries.build import DEFAULT_BUCKET_S
from olmo_green.traces import read as trace_read  # the module, not its names: see the docstring
from olmo_green.traces.formats import TraceOptions

if TYPE_CHECKING:
    from olmo_green.traces.read import TraceFile, TraceRead


def account_traces(paths: list[str | Path], fmt: str = "auto", options: TraceOptions | None = None,
                   bucket_s: float = DEFAULT_BUCKET_S, progress: bool | None = None,
                   **carbon_options) -> RunAccount:
    """The account of one or more power logs (one file per node)."""
    return read_and_account(paths, fmt, options, bucket_s, progress, **carbon_options)[0]


def read_and_account(paths: list[str | Path], fmt: str = "auto", options: TraceOptions | None = None,
                     bucket_s: float = DEFAULT_BUCKET_S, progress: bool | None = None,
                     **carbon_options) -> tuple[RunAccount, TraceRead]:
    """The account, and what was read (per node buckets: the dashboard draws them)."""
    from olmo_green.record import EVENT_REJECTED_SAMPLES
    from olmo_green.reports.build import CarbonOptions, account_energy, options_profile, resolve_factors
    from olmo_green.traces.formats.common import refuse_copies, require_file

    for path in paths:  # a missing file is named before any option is resolved
        require_file(Path(path))
    refuse_copies([Path(p) for p in paths])
    options_ = CarbonOptions(**carbon_options)
    profile = options_profile(options_, None)
    factors = resolve_factors(options_, profile)  # a bad option fails before a large file is read
    paths = [Path(p) for p in paths]
    read = trace_read.read_traces(paths, fmt, options, profile, bucket_s, progress)
    events = [{"kind": EVENT_REJECTED_SAMPLES, "source": "trace", "counts": dict(read.rejected)}] \
        if read.rejected else []
    name = paths[0].name if len(paths) == 1 else f"{paths[0].parent.resolve().name} ({len(paths)} files)"
    account = account_energy(read.energy, name=name, path=", ".join(str(p) for p in paths), factors=factors,
                             profile=profile, events=events, replayed=True, wue=options_.wue)
    account.notes += file_notes(read)
    account.trace = trace_json(read)
    if account.power_swings is not None:
        account.power_swings = swings_of(read, account.power_swings)
    return account, read


def file_notes(read: TraceRead) -> list[str]:
    """One line per file (format and node), and one per kind of row not counted: never zero."""
    notes = []
    for f in read.files:
        how = "sniffed from its header (--trace-format to name another)" if f.auto else "as named"
        notes.append(f"{f.path.name}: read as {f.format} ({how}), node {f.node}, {f.stats.rows_read:,} rows")
        for reason, count in sorted(f.stats.rows_dropped.items()):
            notes.append(f"{f.path.name}: {count:,} row(s) dropped ({reason}): not counted")
        if f.stats.gaps_na:
            notes.append(f"{f.path.name}: {f.stats.gaps_na:,} reading(s) N/A or not supported: gaps, "
                         "not zero")
        notes += [f"{f.path.name}: {note}" for note in f.stats.notes]
    period = read.sample_period_s
    if period is not None:
        notes.append(f"log sampled every {period:.3g} s (median); power held in {read.bucket_s:g} s buckets"
                     + (f", and in {read.fine_s:g} s buckets for swings within 1 s" if read.fine_s else ""))
    return notes


def trace_json(read: TraceRead) -> dict:
    formats = sorted({f.format for f in read.files})
    return {
        "format": formats[0] if len(formats) == 1 else "+".join(formats),
        "sample_period_s": read.sample_period_s, "bucket_s": read.bucket_s, "fine_bucket_s": read.fine_s,
        "files": [_file_json(f) for f in read.files],
    }


def _file_json(f: TraceFile) -> dict:
    s = f.stats
    return {"path": str(f.path), "trace_format": f.format, "format_sniffed": f.auto, "node": f.node,
            "rows_read": s.rows_read, "rows_dropped": dict(s.rows_dropped), "gaps_na": s.gaps_na,
            "time_jumps": s.time_jumps, "notes": list(s.notes)}


def swings_of(read: TraceRead, swings: PowerSwings) -> PowerSwings:
    """The job's windows at the log's resolution, and each node's own when there are several."""
    job = at_resolution(swings, _summed(list(read.fine.values()), read.fine_s), read.fine_why)
    if len(read.energy.nodes) < 2:
        return job
    nodes = {}
    for node in read.energy.nodes:
        own = power_swings(_summed([_node_power(node)], node.bucket_s))
        if own is None:
            continue
        fine = read.fine.get(node.node)
        own = at_resolution(own, _summed([fine], read.fine_s) if fine is not None else None, read.fine_why)
        nodes[node.node] = own.windows
    return PowerSwings(**{**job.__dict__, "nodes": nodes})


def _node_power(node) -> pd.DataFrame:
    frames = [f for d, f in node.power.items() if d in trace_read.ACCELERATORS and len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["bucket", "power_w"])


def _summed(frames: list[pd.DataFrame], bucket_s: float | None) -> pd.DataFrame | None:
    """Per bucket, the accelerators' mean power summed over domains and nodes, and how many nodes
    were seen: RunEnergy.job_power()'s columns."""
    frames = [f for f in frames if f is not None and len(f)]
    if not frames or bucket_s is None:
        return None
    parts = [pd.DataFrame({"bucket": f["bucket"].to_numpy(np.int64), "power_w": f["power_w"].to_numpy(float),
                           "node": i}) for i, f in enumerate(frames)]
    joined = pd.concat(parts, ignore_index=True)
    grouped = joined.groupby("bucket", sort=True).agg(power_w=("power_w", "sum"), nodes=("node", "nunique"))
    return pd.DataFrame({"time_s": grouped.index.to_numpy(float) * bucket_s, "bucket_s": bucket_s,
                         "power_w": grouped["power_w"].to_numpy(float), "nodes": grouped["nodes"].to_numpy()})
