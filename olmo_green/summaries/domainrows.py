"""The stored domain rows (telemetry/<node>.domains.parquet) checked, two ways.

The domain rows hold what the device rows do not: the energy in each time bucket (what hourly
intensities weigh, and what the phases of steps.csv are read from) and the power bounds the
steps.csv check leans on (summaries/bounds.py). A hand edit there changes the emissions and the
phase split while every device total stays right, so neither comparing device totals nor a
plain report would see it (issue 24).

- `row_differences` (report --verify): the stored rows against rows rebuilt from the chunk by
  the code that wrote them (build.summarise_chunk), one line per chunk, domain, bucket and
  column that differs; what a sound record gives exactly, so the tolerance is verify's own.
- `inconsistent_chunks` (every read): a chunk whose domain rows contradict its own device rows
  (energy summed over buckets against the devices' totals, a NaN, a ceiling below the mean
  power). Cheap, O(summary rows), and blind to an edit made consistently in both files or to
  bounds widened: those only --verify finds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

VALUE_COLUMNS = ["energy_j", "power_w", "covered_s", "devices", "ceiling_w", "floor_w"]
ROW_KEY = ["chunk", "domain", "bucket"]
NAMED_ROWS = 10  # differing domain rows named per node; the rest are counted in one more line
SMALLEST_J = 1e-12  # a denominator floor: a zero on the rebuilt side is compared absolutely


def relative_gap(stored: np.ndarray | float, rebuilt: np.ndarray | float) -> np.ndarray | float:
    """|stored - rebuilt| relative to the rebuilt value (verify's measure of apart)."""
    return np.abs(stored - rebuilt) / np.maximum(np.abs(rebuilt), SMALLEST_J)


def differs(stored: np.ndarray, rebuilt: np.ndarray, tolerance_rel: float) -> np.ndarray:
    """True where two value columns disagree beyond `tolerance_rel`; equal infinities and two
    NaNs agree, a NaN or an infinity against a number does not."""
    same = (stored == rebuilt) | (np.isnan(stored) & np.isnan(rebuilt))
    with np.errstate(invalid="ignore", divide="ignore"):
        close = relative_gap(stored, rebuilt) <= tolerance_rel
    return ~same & ~close


def row_differences(node: str, stored: pd.DataFrame, rebuilt: pd.DataFrame,
                    tolerance_rel: float) -> list[str]:
    """One line per stored domain row value that the chunk's samples do not give, per row only
    one side has, and per row stored twice; at most NAMED_ROWS lines a node, then a count.

    `stored`, `rebuilt`: DOMAIN_COLUMNS plus `chunk`, for the same chunks (the caller leaves out
    chunks that could not be read)."""
    stored, rebuilt = _keyed(stored), _keyed(rebuilt)
    lines = [f"{node}: {_where(key)}: stored {count} times in the domain summary"
             for key, count in stored.index.value_counts().items() if count > 1]
    stored = stored[~stored.index.duplicated(keep="first")]
    lines += [f"{node}: {_where(key)}: a stored domain row the chunk's samples do not give"
              for key in stored.index.difference(rebuilt.index)]
    lines += [f"{node}: {_where(key)}: the chunk's samples give a domain row that is not stored"
              for key in rebuilt.index.difference(stored.index)]
    both = pd.merge(stored, rebuilt, how="inner", left_index=True, right_index=True,
                    suffixes=("_stored", "_rebuilt"))
    lines += _value_lines(node, both, tolerance_rel)
    return _capped(node, lines)


def _value_lines(node: str, both: pd.DataFrame, tolerance_rel: float) -> list[str]:
    """A line per differing value, row by row (so the first lines show each edited row whole)."""
    found = []
    for place, column in enumerate(VALUE_COLUMNS):
        stored = both[f"{column}_stored"].to_numpy(dtype=float)
        rebuilt = both[f"{column}_rebuilt"].to_numpy(dtype=float)
        found += [(i, place, f"{node}: {_where(both.index[i])} {column}: stored {stored[i]:,.6g}, "
                              f"the chunk's samples give {rebuilt[i]:,.6g}")
                  for i in np.flatnonzero(differs(stored, rebuilt, tolerance_rel))]
    return [line for _, _, line in sorted(found)]


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    """The value columns indexed by (chunk, domain, bucket): labels as text, buckets as floats (exact
    for bucket numbers, and an edited NaN bucket stays a row to name rather than an error)."""
    keys = pd.MultiIndex.from_arrays([frame["chunk"].astype(str), frame["domain"].astype(str),
                                      frame["bucket"].to_numpy(dtype=float)], names=ROW_KEY)
    return pd.DataFrame({c: frame[c].to_numpy(dtype=float) for c in VALUE_COLUMNS}, index=keys)


def _where(key: tuple) -> str:
    chunk, domain, bucket = key
    return f"{chunk} domain {domain} bucket {bucket:.0f}"


def _capped(node: str, lines: list[str]) -> list[str]:
    if len(lines) <= NAMED_ROWS:
        return lines
    return [*lines[:NAMED_ROWS], f"{node}: and {len(lines) - NAMED_ROWS} more domain summary "
                                 "difference(s) (the stored domain rows disagree with the chunks)"]
