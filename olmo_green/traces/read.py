"""Power logs (one file per node, any format) -> a RunEnergy, streamed in bounded memory.

Files are opened with traces.formats.open_trace and their batches integrated as
they come (traces/stream.py); nothing holds the file's rows. The profile's
limits apply batch by batch as they did to a whole trace: an accelerator's power
above 3x its package TDP is dropped and counted (refused without a profile), a
trace whose accelerators never draw a tenth of their idle power is in kW.

Memory: one batch, plus per device a few numbers, plus per (node, domain) the
buckets of the span (MAX_HELD_BUCKETS in all, widened as the span grows), plus
the fine series of the swings where the log samples at 0.5 s or finer.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green.checks import gpu_limit_w, power_above
from olmo_green.errors import InputFileError
from olmo_green.record.layout import ACCELERATOR_DOMAINS
from olmo_green.reports.energy import MAX_TRACE_BUCKETS, RunEnergy
from olmo_green.summaries.build import DEFAULT_BUCKET_S, resolution_s
from olmo_green.summaries.merge import merge_node
from olmo_green.traces.formats import OpenedTrace, TraceOptions, open_trace
from olmo_green.traces.stream import MethodChanged, TraceIntegrator

# Buckets held over all nodes and domains (4 floats each: 32 bytes): 512 MB at most, and per
# node no more than a trace held whole (MAX_TRACE_BUCKETS).
MAX_HELD_BUCKETS = 16_000_000
ACCELERATORS = ACCELERATOR_DOMAINS


@dataclass
class TraceFile:
    """What the report says about one file: its format (and whether sniffed) and what was read."""

    path: Path
    format: str
    auto: bool
    node: str
    stats: object  # formats.TraceStats


@dataclass
class TraceRead:
    energy: RunEnergy
    files: list[TraceFile]
    bucket_s: float
    sample_period_s: float | None
    fine: dict[str, pd.DataFrame] = field(default_factory=dict)  # node -> fine accelerator power
    fine_s: float | None = None
    fine_why: str = ""
    rejected: dict[str, int] = field(default_factory=dict)


def held_bucket_s(span_s: float, keys: int, current: float) -> float:
    """The narrowest width (a multiple of `current`) holding every key's span in its share."""
    per_key = min(MAX_TRACE_BUCKETS, MAX_HELD_BUCKETS / max(keys, 1))
    return resolution_s(span_s, per_key, current)


def read_traces(paths: list[str | Path], fmt: str = "auto", options: TraceOptions | None = None,
                profile=None, bucket_s: float = DEFAULT_BUCKET_S, progress: bool | None = None) -> TraceRead:
    """Every file's samples integrated; a device whose first batch chose counter or power
    unlike the whole trace is read again with the choice fixed."""
    options = options or TraceOptions()
    forced: dict = {}
    for _ in range(2):
        try:
            return _read_once([Path(p) for p in paths], fmt, options, profile, bucket_s, forced, progress)
        except MethodChanged as changed:
            forced = changed.forced
    raise InputFileError("the trace's devices change between counter and power readings; "
                         "give every row of a device the same columns")


def _read_once(paths: list[Path], fmt: str, options: TraceOptions, profile, bucket_s: float,
               forced: dict, progress: bool | None) -> TraceRead:
    limits = _Limits(profile, gpu_limit_w(profile))
    integrator = TraceIntegrator(bucket_s, held_bucket_s, forced, counter_limit_w=limits.limit_w)
    files, nodes_seen = [], set()
    with _progress(paths, progress) as bar:
        for path in paths:
            opened = open_trace(path, fmt, _node_options(options, path, paths))
            integrator.where = str(path)
            mine: set[str] = set()
            for batch in opened.batches:
                mine |= set(batch["node"].dropna().unique().tolist())
                _no_shared_nodes(path, mine, nodes_seen)
                integrator.add(limits.apply(path, batch))
                bar(opened)
            nodes_seen |= mine
            files.append(TraceFile(path, opened.format, opened.auto, opened.node, opened.stats))
    integrator.flush()
    integrator.check_methods()
    limits.check_low(paths[0])
    single = integrator.single_sample_devices()
    if single:
        device, node = single[0]
        names = _single_sample_where(files, device, node) or ", ".join(map(str, paths))
        dropped = sum(sum(f.stats.rows_dropped.values()) for f in files)
        also = f" ({dropped} unreadable row(s) of the trace were dropped)" if dropped else ""
        raise InputFileError(f"{names}: device {device} has a single sample (node {node}), so no energy"
                             f"{also}; give every device at least two samples, or drop its row")
    return _result(integrator, files, limits)


def _single_sample_where(files: list, device: str, node: str) -> str | None:
    """FILE:LINE of a single-sample device's row where its reader knew lines (record traces)."""
    for file in files:
        line = file.stats.single_sample_lines.get(device)
        if file.node == node and line:
            return f"{file.path}:{line}"
    return None


def integrate_samples(samples: pd.DataFrame, bucket_s: float = DEFAULT_BUCKET_S) -> RunEnergy:
    """Samples already in memory (the sample columns; node, domain, source and energy_j may be
    missing) integrated as a trace is, whole: the reference the run record's summaries are
    checked against (traces/samples.trace_energy)."""
    defaults = {"node": "", "domain": "gpu", "source": "trace", "energy_j": np.nan, "power_w": np.nan}
    frame = samples.assign(**{k: v for k, v in defaults.items() if k not in samples})
    frame = frame.assign(**{k: frame[k].astype("string").fillna(v) for k, v in defaults.items()
                            if k in ("node", "domain", "source")})
    forced: dict = {}
    for _ in range(2):
        integrator = TraceIntegrator(bucket_s, held_bucket_s, forced)
        try:
            integrator.add(frame)
            integrator.flush()
            integrator.check_methods()
        except MethodChanged as changed:
            forced = changed.forced
            continue
        return _result(integrator, [], _Limits(None, np.inf)).energy
    raise InputFileError("the samples' devices change between counter and power readings")


def _node_options(options: TraceOptions, path: Path, paths: list[Path]) -> TraceOptions:
    if options.node and len(paths) > 1:
        raise InputFileError(f"--trace-node {options.node} names one node, but {len(paths)} files were "
                             "given; "
                             "each file's node comes from its name when there are several")
    return options


def _no_shared_nodes(path: Path, mine: set, seen: set) -> None:
    """Two files of one node would join two logs of the same devices into one curve."""
    if mine & seen:
        node = sorted(mine & seen)[0]
        raise InputFileError(f"{path}: node {node} is also in an earlier file; give one file per node "
                             "(or --trace-node to name a single file's node)")


def _result(integrator: TraceIntegrator, files: list[TraceFile], limits: _Limits) -> TraceRead:
    width = integrator.store.bucket_s
    nodes = []
    for node in integrator.nodes():
        devices = integrator.device_frame(node)
        domains = integrator.domain_frame(integrator.store, node)
        energy = merge_node(node, devices, domains, width)
        energy.samples = int(devices["rows"].sum())
        nodes.append(energy)
    fine = {}
    if integrator.fine is not None:
        for node in integrator.nodes():
            frame = integrator.domain_frame(integrator.fine, node)
            fine[node] = frame[frame["domain"].isin(ACCELERATORS)]
    return TraceRead(RunEnergy(nodes), files, width, integrator.sample_period_s(), fine,
                     integrator.fine.bucket_s if integrator.fine is not None else None,
                     integrator.fine_why, limits.rejected)


class _Limits:
    """The profile's limits on an accelerator's power, batch by batch."""

    def __init__(self, profile, limit_w: float) -> None:
        self.profile, self.limit_w = profile, limit_w
        self.rejected: dict[str, int] = {}
        self.highest_w = -np.inf

    def apply(self, path: Path, batch: pd.DataFrame) -> pd.DataFrame:
        gpu = batch["domain"].isin(ACCELERATORS).to_numpy(dtype=bool)
        power = batch["power_w"].to_numpy(dtype=float)
        above = power_above(batch["domain"], power, self.limit_w, ACCELERATORS)
        if gpu.any() and np.isfinite(power[gpu]).any():
            self.highest_w = max(self.highest_w, float(np.nanmax(power[gpu & ~above])) if (gpu & ~above).any()
                                 else self.highest_w)
        if not above.any():
            return batch
        if self.profile is None:
            i = int(np.flatnonzero(above)[0])
            raise InputFileError(f"{path}: power_w {power[i]:g} W is above any accelerator's "
                                 f"({self.limit_w:g} W) "
                                 "on device " f"{batch['device'].iloc[i]}; give power in W (not mW), or pass "
                                 "--hardware to drop such values")
        self.rejected["above_limit"] = self.rejected.get("above_limit", 0) + int(above.sum())
        batch = batch.assign(power_w=np.where(above, np.nan, power))
        energy = batch["energy_j"].to_numpy(dtype=float)
        return batch[~(above & np.isnan(energy))]

    def check_low(self, path: Path) -> None:
        """Accelerators that never draw a tenth of their profile's idle power: the trace is in kW."""
        named = self.profile is not None and self.profile.vendor != "any"
        if not named or not np.isfinite(self.highest_w):
            return
        floor_w = self.profile.package_idle_w / 10
        if 0 < self.highest_w < floor_w:
            raise InputFileError(f"{path}: the highest accelerator power is {self.highest_w:g} W, under a "
                                 f"tenth of a {self.profile.accelerator}'s idle power ({floor_w:g} W); "
                                 "give power_w "
                                 "in W, not kW")


@contextmanager
def _progress(paths: list[Path], show: bool | None):
    """A rich progress bar on stderr (rows and bytes done), only when stderr is a terminal."""
    if show is None:
        show = sys.stderr.isatty()
    if not show:
        yield lambda opened: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    total = sum(Path(p).stat().st_size for p in paths)
    done_before = [0]
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TextColumn("{task.fields[rows]:,} rows"), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("reading trace", total=total, rows=0)
        state = {"path": None, "rows": 0, "last": None}

        def update(opened: OpenedTrace) -> None:
            if opened.path != state["path"]:
                if state["last"] is not None:
                    done_before[0] += state["last"].stats.bytes_total
                    state["rows"] += state["last"].stats.rows_read
                state["path"], state["last"] = opened.path, opened
            bar.update(task, completed=done_before[0] + opened.stats.bytes_done,
                       rows=state["rows"] + opened.stats.rows_read, description=f"reading {opened.path.name}")

        yield update
