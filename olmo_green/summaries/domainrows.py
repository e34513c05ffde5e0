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

TOLERANCE_REL = 1e-4  # 0.01 %: --verify's (verify.py), and a summary's agreement with itself
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


def inconsistent_chunks(devices: pd.DataFrame, domains: pd.DataFrame) -> dict[str, str]:
    """Chunk name -> why its stored domain rows contradict its own device rows: a NaN value, a
    domain whose bucket energies do not add up to its devices' energy in the chunk (the buckets
    of a sound summary telescope to the device totals), or a ceiling below the mean power (each
    device's ceiling holds its mean power: bounds.py). `devices`, `domains`: the stored frames,
    identity columns included."""
    found = {}
    for chunk in domains.loc[domains[VALUE_COLUMNS].isna().any(axis=1), "chunk"].astype(str):
        found.setdefault(chunk, "a domain row holds a NaN")
    for chunk in _unbalanced(devices, domains):
        found.setdefault(chunk, "its domain rows' energy does not add up to its devices' energy")
    with np.errstate(invalid="ignore"):
        low = domains["ceiling_w"].to_numpy(dtype=float) < \
            domains["power_w"].to_numpy(dtype=float) * (1.0 - TOLERANCE_REL)
    for chunk in domains.loc[low, "chunk"].astype(str):
        found.setdefault(chunk, "a domain row's power ceiling is below its mean power")
    return found


def _unbalanced(devices: pd.DataFrame, domains: pd.DataFrame) -> list[str]:
    """Chunks where some domain's bucket energy and device energy differ beyond TOLERANCE_REL."""
    def per_domain_j(frame: pd.DataFrame) -> pd.Series:
        keys = [frame["chunk"].astype(str), frame["domain"].astype(str)]
        return frame["energy_j"].astype(float).groupby(keys, sort=False).sum(min_count=1)

    device_j = per_domain_j(devices).rename("devices")
    bucket_j = per_domain_j(domains).rename("buckets")
    both = pd.concat([device_j, bucket_j], axis=1).fillna(0.0)
    apart = differs(both["buckets"].to_numpy(float), both["devices"].to_numpy(float), TOLERANCE_REL)
    return sorted({str(chunk) for chunk, _domain in both.index[apart]})
