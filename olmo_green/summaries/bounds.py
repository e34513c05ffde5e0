"""The most and least power a domain can have drawn inside each bucket: what lets the steps.csv
check (crosscheck/record.phase_bounds_j) bound a phase's energy in a bucket it shares with
another phase, rather than only in buckets it covers whole.

If the domain drew at most `ceiling_w` anywhere in a bucket, the part of the bucket's energy
spent outside a phase's windows is at most (seconds outside) x ceiling_w, so the phase spent
at least the rest; likewise `floor_w` bounds it from above. With an eval in every bucket (no
bucket wholly train) the train phase is still bounded to within the evals' share.

The bounds must hold for every honest record, so they are wide where the samples say little:
- a device's power between two samples is a line between them (power integration), or the
  counter's mean rate over the interval; either lies within the samples on both sides, which
  may be in the next or the previous bucket. So a device's ceiling in a bucket is its highest
  power read in that bucket and both neighbours (and its mean power there, for a counter that
  reads above its polled power within the sensors' error), its floor the lowest of the three;
- a bucket where the device read no power (nothing to bound it), or a neighbour where it read
  none, has no ceiling (inf) and a floor of 0; so does a bucket a device did not measure whole;
- a seam between two chunks (crosscheck across files) adds its mean power to the ceiling of
  the buckets at its ends and takes their floor to 0;
- summing over devices, and over the parts of a bucket split across chunks, only widens them.
Widening the held resolution (merge_node) keeps the highest ceiling and the lowest floor.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NO_CEILING = np.inf  # nothing bounds the power here


def device_bounds(energy_j: np.ndarray, covered_s: np.ndarray, min_w: np.ndarray, max_w: np.ndarray,
                  bucket_s: float) -> tuple[np.ndarray, np.ndarray]:
    """One device's (ceiling_w, floor_w) in each of its consecutive buckets within a chunk
    (min_w / max_w: NaN where it read no power in the bucket)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_w = np.where(covered_s > 0, energy_j / covered_s, 0.0)
    seen_high = np.where(np.isfinite(max_w), np.fmax(max_w, mean_w), np.nan)
    ceiling = _around(seen_high, np.maximum, -np.inf)
    floor = _around(min_w, np.minimum, np.inf)
    whole = covered_s >= bucket_s * (1 - 1e-9)
    return np.where(np.isnan(ceiling), NO_CEILING, ceiling), \
        np.where(whole & np.isfinite(floor), floor, 0.0)


def _around(values: np.ndarray, pick, pad: float) -> np.ndarray:
    """`pick` of each bucket and its two neighbours (NaN if any is NaN); the chunk's ends have
    one neighbour (the seam beyond is bounded in merge_node)."""
    padded = np.r_[pad, values, pad]
    return pick(pick(padded[:-2], padded[1:-1]), padded[2:])


def bucket_bounds(rows: pd.DataFrame, first: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """A domain's (ceiling_w, floor_w) per bucket first..first+count-1 from its chunk rows: the
    parts of a bucket split across chunks add their ceilings and keep the highest floor; a
    bucket without a row (or rows of a summary without the columns) is unbounded."""
    ceiling, floor = np.zeros(count), np.zeros(count)
    has = np.zeros(count, dtype=bool)
    if len(rows) and "ceiling_w" in rows and "floor_w" in rows:
        slots = np.clip(rows["bucket"].to_numpy(dtype=np.int64) - first, 0, count - 1)
        np.add.at(ceiling, slots, rows["ceiling_w"].to_numpy(dtype=float))
        np.maximum.at(floor, slots, np.nan_to_num(rows["floor_w"].to_numpy(dtype=float)))
        has[slots] = True
    return np.where(has, ceiling, NO_CEILING), np.where(has, floor, 0.0)


def with_seams(ceiling: np.ndarray, floor: np.ndarray, first: int, lo: np.ndarray, hi: np.ndarray,
               rate_w: np.ndarray) -> None:
    """Seams (buckets lo..hi, mean power rate_w) widen the bounds of their end buckets, in place."""
    rate = np.nan_to_num(rate_w, nan=NO_CEILING, posinf=NO_CEILING)
    for ends, rates in ((lo, rate), (hi[hi != lo], rate[hi != lo])):
        slots = np.clip(ends - first, 0, len(ceiling) - 1)
        np.add.at(ceiling, slots, rates)
        floor[slots] = 0.0


def held_bounds(ceiling: np.ndarray, floor: np.ndarray, step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bounds of each held step (`step`: non-decreasing from 0, no step skipped)."""
    if not len(step):
        return ceiling, floor
    starts = np.flatnonzero(np.r_[True, step[1:] != step[:-1]])
    return np.maximum.reduceat(ceiling, starts), np.minimum.reduceat(floor, starts)
