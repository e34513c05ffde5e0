"""Accounts of several sources side by side: run directories and power logs (traces).

A layer above reports and traces (docs/design.md): a trace's account (traces/report.py) is built
with reports' accounting (build.account_energy), so what combines the two cannot live in reports/
without reports and traces importing each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from olmo_green.errors import ConfigError
from olmo_green.reports.account import RunAccount
from olmo_green.reports.build import account_run
from olmo_green.summaries.build import DEFAULT_BUCKET_S
from olmo_green.summaries.identity import distinct_runs
from olmo_green.traces.report import account_traces


def account_trace(path: str | Path | Sequence[str | Path], bucket_s: float = DEFAULT_BUCKET_S,
                  trace_format: str = "auto", trace_options=None, **carbon_options) -> RunAccount:
    """The account of a power log, or of several (one file per node), in any format traces.formats
    reads (same options as account_run; the profile comes from `hardware`). Streamed: memory
    grows with devices and buckets, never with rows (traces/read.py).

    `bucket_s`: the width of the power buckets (a divisor of an hour); a sparse trace spanning
    years is held in wider buckets, at the price of seeing no swing within 10 s."""
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    return account_traces(paths, trace_format, trace_options, bucket_s, **carbon_options)


def account_many(run_dirs: Sequence[str | Path], trace: str | Sequence[str] | None = None,
                 trace_format: str = "auto", trace_options=None, **carbon_options) -> list[RunAccount]:
    """Accounts of several runs (and a trace, of one or more files), side by side, in the order given."""
    if not run_dirs and not trace:
        raise ConfigError("give RUN_DIR ... or --trace FILE")
    run_dirs, repeated = distinct_runs(run_dirs)  # a run named twice (or by a symlink) counts once
    accounts = [account_run(d, **carbon_options) for d in run_dirs]
    for line in repeated:
        accounts[0].notes.append(f"Cross-check: {line}")
    if trace:
        accounts.append(account_trace(trace, trace_format=trace_format, trace_options=trace_options,
                                      **carbon_options))
    return accounts
