"""Per-device power as a band: each summary bucket's lowest and highest reading, filled, around
the bucket's mean power (its energy / the time it covers).

Drawing a bucket's min then max as two points of one line (the previous way) joins the max of
one bucket to the min of the next: a device steady at ~500 W with one dip per bucket reads as a
saw falling to the dip every bucket. A band shows the same extremes without inventing a slope,
and the mean line is what the energy figures integrate. Where there are more buckets than the
panel can draw, neighbours are merged: the lowest low, the highest high, and the mean weighted by
covered time (summed energy / summed covered seconds), so no peak or dip is lost and the mean
stays the energy's. A missing bucket (a telemetry gap) breaks all three lines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class Band:
    """One device's power to draw: bucket middles (s) and W; NaN rows break the lines at gaps."""

    time_s: np.ndarray
    low_w: np.ndarray
    mean_w: np.ndarray
    high_w: np.ndarray
    raw_buckets: int
    per_point: int  # recorded buckets merged into each drawn point (1: as recorded)

    @property
    def shown_points(self) -> int:
        return int(np.isfinite(self.mean_w).sum())


def power_band(bucket: np.ndarray, energy_j: np.ndarray, covered_s: np.ndarray, min_w: np.ndarray,
               max_w: np.ndarray, bucket_s: float, most: int) -> Band:
    """The band of one device's buckets, merged to at most about `most` drawn points."""
    bucket = np.asarray(bucket, dtype=np.int64)
    if not len(bucket):
        empty = np.zeros(0)
        return Band(empty, empty, empty, empty, 0, 1)
    first = int(bucket.min())
    per_point = max(1, math.ceil((int(bucket.max()) - first + 1) / max(most, 1)))
    group = (bucket - first) // per_point
    groups, index = np.unique(group, return_inverse=True)
    energy = np.zeros(len(groups))
    covered = np.zeros(len(groups))
    np.add.at(energy, index, np.nan_to_num(np.asarray(energy_j, dtype=float)))
    np.add.at(covered, index, np.nan_to_num(np.asarray(covered_s, dtype=float)))
    low = np.full(len(groups), np.nan)
    high = np.full(len(groups), np.nan)
    np.fmin.at(low, index, np.asarray(min_w, dtype=float))  # fmin/fmax: a NaN reading is skipped
    np.fmax.at(high, index, np.asarray(max_w, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(covered > 0, energy / covered, np.nan)
    low = np.where(np.isfinite(low), low, mean)  # a bucket of counter readings only: its mean
    high = np.where(np.isfinite(high), high, mean)
    time_s = (first + (groups + 0.5) * per_point) * bucket_s
    # a bucket that spans two chunks has a row in each: merged like neighbours, counted once
    band = Band(time_s, low, mean, high, len(np.unique(bucket)), per_point)
    return _break_at_gaps(band, groups, per_point * bucket_s)


def _break_at_gaps(band: Band, groups: np.ndarray, width_s: float) -> Band:
    """A NaN row after each drawn point followed by a missing one."""
    after = np.flatnonzero(np.diff(groups) > 1)
    if not len(after):
        return band
    at = after + 1
    time_s = np.insert(band.time_s, at, band.time_s[after] + width_s)
    nan = np.full(len(at), np.nan)
    return Band(time_s, np.insert(band.low_w, at, nan), np.insert(band.mean_w, at, nan),
                np.insert(band.high_w, at, nan), band.raw_buckets, band.per_point)


def band_note(bands: list[Band]) -> str:
    """Say under the panel how the band was drawn, and whether buckets were merged."""
    merged = max((b.per_point for b in bands), default=1)
    text = ("Each device: its mean power per summary bucket (the line; energy / covered time) inside a "
            "band from the lowest to the highest reading in that bucket.")
    if merged == 1:
        return text
    raw = sum(b.raw_buckets for b in bands)
    shown = sum(b.shown_points for b in bands)
    return (f"Downsampled for display: {raw:,} buckets drawn as {shown:,} points, up to {merged:,} "
            "neighbouring buckets merged (lowest low, highest high, time-weighted mean), so no peak or "
            "dip is lost. " + text)
