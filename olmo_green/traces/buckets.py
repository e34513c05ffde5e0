"""Per (node, domain) sums over fixed time buckets, filled batch by batch.

What a chunk summary's domain rows hold (summaries/build.DOMAIN_COLUMNS): per
bucket, the energy of the domain's devices, the sum of their mean powers (each
device's energy in the bucket over the seconds it measured there), the seconds
measured, and how many devices were seen. A device's bucket is added once it is
closed (the device has a later sample in a later bucket), so a bucket split
between two batches is one device mean, not two.

Memory: one dense array per key and column over the key's span, so it grows
with nodes x buckets, never with rows. The width may be widened (a multiple of
the old one) when the span grows: energy and seconds are summed exactly, the
power of a widened bucket is the seconds-weighted mean of its parts (exact
where every device measured the whole bucket).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ("energy_j", "power_w", "covered_s", "devices")


class BucketStore:
    """Dense bucket sums per integer key (a node-domain code)."""

    def __init__(self, bucket_s: float) -> None:
        self.bucket_s = bucket_s
        self.base: dict[int, int] = {}  # key -> bucket index of element 0
        self.data: dict[int, np.ndarray] = {}  # key -> (4, n) array of COLUMNS

    def _room(self, key: int, low: int, high: int) -> np.ndarray:
        """The key's array, grown to hold buckets low..high; returns it."""
        if key not in self.data:
            self.base[key], self.data[key] = low, np.zeros((len(COLUMNS), high - low + 1))
            return self.data[key]
        base, data = self.base[key], self.data[key]
        new_low, new_high = min(low, base), max(high, base + data.shape[1] - 1)
        if new_low < base or new_high > base + data.shape[1] - 1:
            # grow by half again, so a long stream appends in amortised O(1)
            span = new_high - new_low + 1
            later = new_high > base + data.shape[1] - 1
            extra = max(span - data.shape[1], data.shape[1] // 2) if later else 0
            grown = np.zeros((len(COLUMNS), span + extra))
            grown[:, base - new_low: base - new_low + data.shape[1]] = data
            self.base[key], self.data[key] = new_low, grown
        return self.data[key]

    def add(self, key: int, bucket: np.ndarray, energy_j: np.ndarray, power_w: np.ndarray,
            covered_s: np.ndarray, devices: np.ndarray) -> None:
        """Closed device buckets (one row each) of one key."""
        if not len(bucket):
            return
        data = self._room(key, int(bucket.min()), int(bucket.max()))
        slot = bucket - self.base[key]
        for row, values in enumerate((energy_j, power_w, covered_s, devices)):
            data[row] += np.bincount(slot, values, minlength=data.shape[1])[: data.shape[1]]

    def add_runs(self, key: int, first: np.ndarray, last: np.ndarray, energy_j: np.ndarray,
                 power_w: np.ndarray, covered_s: np.ndarray) -> None:
        """Constant per-bucket values over runs of whole buckets first..last (an interval that
        spans them), each run one device: by a difference array, O(runs + span)."""
        if not len(first):
            return
        data = self._room(key, int(first.min()), int(last.max()))
        size = data.shape[1]
        start, stop = first - self.base[key], last - self.base[key] + 1
        for row, values in enumerate((energy_j, power_w, covered_s, np.ones(len(first)))):
            diff = np.bincount(start, values, minlength=size + 1) - \
                np.bincount(stop, values, minlength=size + 1)
            data[row] += np.cumsum(diff[:size])

    def widen(self, bucket_s: float) -> None:
        """Re-bucket everything at `bucket_s`, a whole multiple of the present width."""
        factor = int(round(bucket_s / self.bucket_s))
        if factor <= 1:
            return
        for key, data in list(self.data.items()):
            index = (self.base[key] + np.arange(data.shape[1])) // factor
            slot = index - index[0]
            size = int(slot[-1]) + 1
            energy, covered = (np.bincount(slot, data[i], size) for i in (0, 2))
            weighted = np.bincount(slot, data[1] * data[2], size)
            highest = np.full(size, -np.inf)
            np.maximum.at(highest, slot, data[1])
            devices = np.zeros(size)
            np.maximum.at(devices, slot, data[3])
            with np.errstate(divide="ignore", invalid="ignore"):
                power = np.where(covered > 0, weighted / covered, np.maximum(highest, 0.0))
            self.base[key], self.data[key] = int(index[0]), np.vstack([energy, power, covered, devices])
        self.bucket_s = bucket_s

    def span_buckets(self) -> int:
        return sum(d.shape[1] for d in self.data.values())

    def frame(self, key: int) -> pd.DataFrame:
        """The key's buckets seen by at least one device, as bucket, energy_j, power_w, covered_s, devices."""
        if key not in self.data:
            return pd.DataFrame(columns=["bucket", *COLUMNS])
        data = self.data[key]
        seen = np.flatnonzero(data[3] > 0)
        return pd.DataFrame({"bucket": (self.base[key] + seen).astype(np.int64), "energy_j": data[0, seen],
                             "power_w": data[1, seen], "covered_s": data[2, seen],
                             "devices": np.rint(data[3, seen]).astype(np.int64)})
