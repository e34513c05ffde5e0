"""Min/max envelope downsampling: few points on screen, every peak kept.

A month-long run has ~10^8 samples; a browser draws a few thousand points per
line. Averaging would hide the spikes a reader looks for, so each bucket of x
keeps its lowest and its highest point (in their x order): the drawn line
passes through every bucket's extremes, and the global max and min survive.

Buckets are equal widths of x, not equal counts, so a stretch with no data
(a telemetry gap) leaves empty buckets, drawn as a break (NaN) in the line
rather than a straight segment that looks like a measurement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_BUCKETS = 2000


@dataclass
class Envelope:
    """A downsampled series and how much was dropped."""

    x: np.ndarray
    y: np.ndarray
    raw_points: int
    buckets: int  # 0 when the series was small enough to keep as is

    @property
    def shown_points(self) -> int:
        return int(np.isfinite(self.y).sum())


def _first_index_per_bucket(mask: np.ndarray, bucket: np.ndarray) -> np.ndarray:
    """Index of the first True of `mask` in each bucket (buckets sorted, all present)."""
    hits = np.flatnonzero(mask)
    _, first = np.unique(bucket[hits], return_index=True)
    return hits[first]


def envelope(x: np.ndarray, y: np.ndarray, buckets: int = DEFAULT_BUCKETS) -> Envelope:
    """Keep the min and max point of each of `buckets` equal-width x buckets.

    `x` must be sorted. NaN values of y are dropped first. A series of at
    most 2 x `buckets` points is returned unchanged (nothing to gain).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) <= 2 * buckets or x[-1] <= x[0]:
        return Envelope(x, y, len(x), 0)
    width = (x[-1] - x[0]) / buckets
    bucket = np.minimum(((x - x[0]) / width).astype(np.int64), buckets - 1)
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    present = bucket[starts]
    low = np.repeat(np.minimum.reduceat(y, starts), np.diff(np.r_[starts, len(y)]))
    high = np.repeat(np.maximum.reduceat(y, starts), np.diff(np.r_[starts, len(y)]))
    picks = np.union1d(_first_index_per_bucket(y == low, bucket),
                       _first_index_per_bucket(y == high, bucket))
    out_x, out_y = x[picks], y[picks]
    return _break_at_empty_buckets(out_x, out_y, bucket[picks], present, len(x), buckets)


def _break_at_empty_buckets(x, y, bucket, present, raw_points, buckets) -> Envelope:
    """Insert a NaN point after each bucket followed by an empty one (a gap)."""
    gap_after = present[:-1][np.diff(present) > 1]
    if len(gap_after) == 0:
        return Envelope(x, y, raw_points, buckets)
    # the last picked point of each bucket that precedes a gap
    last = np.searchsorted(bucket, gap_after, side="right") - 1
    x = np.insert(x, last + 1, x[last])
    y = np.insert(y, last + 1, np.nan)
    return Envelope(x, y, raw_points, buckets)


def buckets_for(traces: int, point_budget: int, most: int = DEFAULT_BUCKETS, least: int = 10) -> int:
    """Buckets per trace so that a panel of `traces` lines stays near `point_budget` points."""
    if traces <= 0:
        return most
    return int(min(most, max(least, point_budget // (2 * traces))))
