"""`olmo-green report RUN --verify`: the raw chunks, re-integrated, against the summaries.

The raw chunks are the ground truth (docs/design.md, Run record). Verification
summarises every raw chunk afresh, in a process pool (one task per chunk), joins
them with the same seam rules, and compares each device's total with what the
stored summaries give; and each chunk's stored domain rows (energy and power
bounds per bucket: what emissions and the steps.csv check read) with the rows
its samples give (summaries/domainrows.py). A device that differs by more than
TOLERANCE_REL, a device found on one side only, a domain row value that
differs, and a chunk that cannot be read are each one line. `--nodes PATTERN`
restricts the work to some nodes, so a big record can be checked node by node
(examples/verify_record_srun.sh fans it out with srun).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from olmo_green import record as rr
from olmo_green.errors import InputFileError
from olmo_green.summaries.build import DOMAIN_COLUMNS, summarise_chunk
from olmo_green.summaries.domainrows import TOLERANCE_REL, relative_gap, row_differences
from olmo_green.summaries.merge import MixedMethods, merge_node
from olmo_green.summaries.record import SummarySettings, record_settings, summarised_chunks


@dataclass
class Verification:
    """What --verify found: one line per problem, and what was checked."""

    problems: list[str] = field(default_factory=list)
    nodes: int = 0
    chunks: int = 0
    devices: int = 0
    samples: int = 0
    rebuilt: int = 0  # chunks with no current stored summary (built now, so they agree trivially)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary_line(self, run_dir: str | Path) -> str:
        verdict = "all within 0.01 %" if self.ok else f"{len(self.problems)} problem(s)"
        rebuilt = f"; {self.rebuilt:,} chunk(s) had no current summary and were summarised now" \
            if self.rebuilt else ""
        return (f"{run_dir}: verified {self.devices:,} device(s) on {self.nodes:,} node(s) from "
                f"{self.chunks:,} chunk(s), {self.samples:,} samples: {verdict}{rebuilt}")


def verify_record(run_dir: str | Path, nodes: str | None = None, workers: int | None = None,
                  progress: Callable[[int], None] | None = None) -> Verification:
    """Re-integrate the raw chunks of `run_dir` (nodes matching the shell pattern `nodes`)."""
    settings = record_settings(run_dir)
    listing = _chosen(rr.chunk_listing(run_dir), nodes, run_dir)
    result = Verification(nodes=len(listing), chunks=sum(len(p) for p in listing.values()))
    fresh = _fresh_summaries(listing, settings, workers, progress)
    for node, paths in listing.items():
        # As stored: a plain read summarises a chunk that contradicts itself again (domainrows.py),
        # which would hide the edit from this comparison.
        stored = summarised_chunks(run_dir, node, settings, save=False, paths=paths, as_stored=True)
        result.rebuilt += stored.built
        raw = fresh[node]
        result.problems += [f"{node}: cannot read {name}: {why}" for name, why in raw.unreadable]
        result.samples += raw.samples
        result.problems += _compare(node, _totals(node, stored.devices, settings),
                                    _totals(node, raw.devices, settings), result)
        result.problems += _domain_problems(node, stored.domains, raw)
    return result


def _chosen(listing: dict[str, list[Path]], pattern: str | None,
            run_dir: str | Path) -> dict[str, list[Path]]:
    if not listing:
        raise InputFileError(f"{rr.telemetry_dir(run_dir)}: no sample chunks to verify")
    if pattern is None:
        return listing
    return {node: listing[node] for node in rr.match_nodes(list(listing), pattern)}


@dataclass
class _Fresh:
    devices: list[pd.DataFrame] = field(default_factory=list)
    domains: list[pd.DataFrame] = field(default_factory=list)  # DOMAIN_COLUMNS + `chunk`
    read: set[str] = field(default_factory=set)  # names of the chunks read
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    samples: int = 0


def _fresh_summaries(listing: dict[str, list[Path]], settings: SummarySettings, workers: int | None,
                     progress: Callable[[int], None] | None) -> dict[str, _Fresh]:
    """Every chunk summarised from its raw samples, in parallel; device rows in chunk order."""
    tasks = [(node, order, str(path), settings) for node, paths in listing.items()
             for order, path in enumerate(paths)]
    fresh = {node: _Fresh() for node in listing}
    workers = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
    with ProcessPoolExecutor(workers) as pool:
        for node, order, path, summary, error in pool.map(_summarise, tasks, chunksize=4):
            if error is not None:
                fresh[node].unreadable.append((Path(path).name, error))
            else:
                fresh[node].devices.append(summary.devices.assign(order=order))
                fresh[node].domains.append(summary.domains.assign(chunk=Path(path).name))
                fresh[node].read.add(Path(path).name)
                fresh[node].samples += int(summary.devices["rows"].sum())
            if progress is not None:
                progress(1)
    return fresh


def _summarise(task: tuple[str, int, str, SummarySettings]) -> tuple:
    """One chunk, in a worker process: its summary, or why it could not be read."""
    node, order, path, settings = task
    try:
        samples, _ = rr.read_sample_chunk(Path(path))
    except (OSError, ValueError, UnicodeError) as e:
        return node, order, path, None, (str(e).splitlines()[0] if str(e) else type(e).__name__)
    return node, order, path, summarise_chunk(samples, settings.bucket_s, settings.max_gap_s,
                                                gpu_limit_w=settings.gpu_limit_w), None


def _totals(node: str, devices: pd.DataFrame | list[pd.DataFrame], settings: SummarySettings) -> dict:
    """(device, domain) -> total J, by the seam rules both sides share."""
    if isinstance(devices, list):
        devices = pd.concat(devices, ignore_index=True) if devices else pd.DataFrame()
    try:
        merged = merge_node(node, devices, pd.DataFrame(columns=DOMAIN_COLUMNS), settings.bucket_s)
    except MixedMethods as e:
        return {("*", "*"): f"a device read by counter in some chunks and by power in others ({e})"}
    return {(c.device, c.domain): c.total_j for c in merged.devices}


def _compare(node: str, stored: dict, raw: dict, result: Verification) -> list[str]:
    problems = []
    for key in sorted(set(stored) | set(raw)):
        device, domain = key
        result.devices += 1
        if key not in raw:
            problems.append(f"{node}/{device} ({domain}): in the summaries but not in the raw chunks")
        elif key not in stored:
            problems.append(f"{node}/{device} ({domain}): in the raw chunks but not in the summaries")
        elif isinstance(raw[key], str) and isinstance(stored[key], str):
            continue  # mixed methods on both sides: the report integrates that node whole, as a trace
        elif isinstance(raw[key], str) or isinstance(stored[key], str):
            problems.append(f"{node}: {raw[key] if isinstance(raw[key], str) else stored[key]}")
        else:
            rel = relative_gap(stored[key], raw[key])
            if rel > TOLERANCE_REL:
                problems.append(f"{node}/{device} ({domain}): summaries {stored[key]:,.3f} J, raw chunks "
                                f"{raw[key]:,.3f} J ({rel:.4%} apart)")
    return problems


def _domain_problems(node: str, stored: pd.DataFrame, fresh: _Fresh) -> list[str]:
    """The stored domain rows of the chunks read now against the rows their samples give (a chunk
    that could not be read is already a line; its stored rows cannot be judged)."""
    columns = [*DOMAIN_COLUMNS, "chunk"]
    rebuilt = pd.concat(fresh.domains, ignore_index=True) if fresh.domains else pd.DataFrame(columns=columns)
    judged = stored[stored["chunk"].astype(str).isin(fresh.read)] if len(stored) else stored
    return row_differences(node, judged, rebuilt, TOLERANCE_REL)
