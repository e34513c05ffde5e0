"""Samples already in memory (a DataFrame) -> a RunEnergy, integrated whole as a trace is."""

from __future__ import annotations

import pandas as pd

from olmo_green.reports.energy import RunEnergy
from olmo_green.summaries.build import DEFAULT_BUCKET_S
from olmo_green.traces.read import integrate_samples


def trace_energy(samples: pd.DataFrame, bucket_s: float = DEFAULT_BUCKET_S) -> RunEnergy:
    """Per device totals and per-bucket sums, never per-device buckets (traces/read.integrate_samples);
    a sparse trace spanning years is held in wider buckets (reports/energy.MAX_TRACE_BUCKETS per node)."""
    return RunEnergy([]) if samples.empty else integrate_samples(samples, bucket_s)
