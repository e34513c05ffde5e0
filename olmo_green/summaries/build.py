"""One chunk of samples -> its summary, with integrate.py's method.

Per device (node, device, domain), the summary holds what joins the chunk to its
neighbours exactly: the first and last time and reading, the energy inside the
chunk (counter deltas with resets, or integrated power with gaps left out), the
gaps and resets, the sample count. Per fixed time bucket (epoch-aligned, so an
hour is a whole number of buckets), it holds the energy inside the bucket, the
seconds the samples cover, and the lowest and highest instantaneous power: what
the dashboard draws and what hourly intensities weigh. Per domain of the node,
the same buckets summed over devices: what a job's power over time is built from.

A chunk's device uses its counter when the chunk holds any counter reading;
record's rule for a whole device is two readings or more, and the reader
checks that the two agree (summaries/merge.py). Where the chunk also holds
power, the counter is checked against it window by window and repaired from it
where it broke (olmo_green/crosscheck/counter.py); the device row says what the
counter and power each gave, and what was repaired.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from olmo_green.checks import ABSURD_POWER_W, power_above
from olmo_green.crosscheck.counter import CounterCheck, checked_curve
from olmo_green.crosscheck.duplicates import content_hash
from olmo_green.integrate import (
    EnergyCurve,
    bucket_of,
    counter_values,
    curve_from_samples,
    device_slices,
    uses_counter,
)

# The summary files' columns and ChunkSummary are the record's layout (record/summaries.py).
from olmo_green.record.layout import ACCELERATOR_DOMAINS
from olmo_green.record.options import DEFAULT_BUCKET_S
from olmo_green.record.summaries import BUCKET_COLUMNS, DEVICE_COLUMNS, DOMAIN_COLUMNS, ChunkSummary
from olmo_green.summaries.bounds import device_bounds
from olmo_green.units import S_PER_HOUR

# Wider resolutions a reader may hold a long record at: divisors of an hour (hourly intensities
# stay exact at every edge), then whole hours.
BOUND_COLUMNS = ["ceiling_w", "floor_w"]  # summaries/bounds.py
RESOLUTIONS_S = (10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, S_PER_HOUR)


def resolution_s(span_s: float, at_most: float, bucket_s: float = DEFAULT_BUCKET_S) -> float:
    """The narrowest resolution from `bucket_s` up (a multiple of it) that cuts `span_s` into at
    most `at_most` pieces."""
    for choice in RESOLUTIONS_S:
        if choice >= bucket_s and choice % bucket_s == 0 and span_s / choice <= at_most:
            return choice
    # bucket_s divides an hour
    return S_PER_HOUR * max(1, int(np.ceil(span_s / max(at_most, 1.0) / S_PER_HOUR)))


def summarise_chunk(samples: pd.DataFrame, bucket_s: float = DEFAULT_BUCKET_S,
                    max_gap_s: float | None = None, whole: bool = False,
                    gpu_limit_w: float | None = None) -> ChunkSummary:
    """The summary of one chunk's samples (any order; rows without a value are ignored).

    `whole`: the samples are all of their devices' samples, so the whole-device rule
    (integrate.uses_counter) picks counter or power, as for a trace. `gpu_limit_w`: an
    accelerator power above it is no measurement (checks.gpu_limit_w): dropped, as the sampler
    drops it, so a counter beside it carries the interval; the summary counts them (`implausible`).
    """
    devices, buckets = [], []
    measured, implausible = _plausible(samples, gpu_limit_w)
    if len(measured):
        frame, ranges = device_slices(measured)
        for start, end in ranges:
            rows = frame.iloc[start:end]
            readings = counter_values(rows)
            counter = uses_counter(readings) if whole else readings >= 1
            if counter:
                limit_w = _limit_w(str(rows["domain"].iloc[0]), gpu_limit_w)
                curve, check = checked_curve(rows, max_gap_s, bucket_s, limit_w)
            else:
                curve, check = curve_from_samples(rows, max_gap_s, counter=False), CounterCheck()
                check.power_j = curve.total_j
            devices.append(_device_row(curve, rows, readings, counter) | _check_columns(check, rows))
            buckets.append(_device_buckets(curve, rows, bucket_s))
    device_frame = pd.DataFrame(devices, columns=DEVICE_COLUMNS)
    bucket_frame = _bucket_frame(buckets)
    # A chunk's hash finds it under another name (crosscheck/duplicates.py); a trace has no names.
    digest = content_hash(samples) if len(samples) and not whole else ""
    return ChunkSummary(device_frame, bucket_frame[BUCKET_COLUMNS], domain_buckets(bucket_frame),
                        content_hash=digest, implausible=implausible)


def _limit_w(domain: str, gpu_limit_w: float | None) -> float:
    """The most power a device of `domain` can draw: the profile's limit for an accelerator,
    else a value above any whole node (checks.ABSURD_POWER_W): a counter rising faster broke."""
    return gpu_limit_w if gpu_limit_w is not None and domain in ACCELERATOR_DOMAINS else ABSURD_POWER_W


def _plausible(samples: pd.DataFrame, gpu_limit_w: float | None) -> tuple[pd.DataFrame, int]:
    """The samples with accelerator power above `gpu_limit_w` dropped (the row kept where a counter
    reading remains), and how many values were dropped. Only those values go: the device's other
    power readings still check its counter (crosscheck/counter.py), which no longer gives way to a
    power that merely disagrees; before, one such value dropped all of the device's power in the
    chunk, so a counter scaled beside it went unchecked."""
    if gpu_limit_w is None or not len(samples) or "power_w" not in samples or "domain" not in samples:
        return samples, 0
    above = power_above(samples["domain"], samples["power_w"], gpu_limit_w, ACCELERATOR_DOMAINS)
    if not above.any():
        return samples, 0
    kept = samples.assign(power_w=samples["power_w"].mask(above))
    if "energy_j" in kept:
        kept = kept[~(above & kept["energy_j"].isna().to_numpy())]
    return kept, int(above.sum())


def empty_chunk_row(node: str) -> pd.DataFrame:
    """The device row of a chunk with no usable sample: no device, nothing valid (merge skips it),
    so the stored summary still names the chunk (not rebuilt on every read) and its bad rows."""
    row = {column: 0 for column in DEVICE_COLUMNS} | {"node": node, "device": "", "domain": "", "source": ""}
    for column in ("first_s", "last_s", "first_value", "last_value", "max_gap_s", "median_dt_s",
                   "first_power_w", "last_power_w"):
        row[column] = np.nan
    row["counter"] = False
    return pd.DataFrame([row], columns=DEVICE_COLUMNS)


def _device_row(curve: EnergyCurve, rows: pd.DataFrame, readings: int, counter: bool) -> dict:
    time_s = curve.time_s
    return {
        "node": curve.node, "device": curve.device, "domain": curve.domain, "source": curve.source,
        "rows": len(rows), "counter_readings": readings, "counter": counter, "valid": len(time_s),
        "first_s": float(time_s[0]) if len(time_s) else np.nan,
        "last_s": float(time_s[-1]) if len(time_s) else np.nan,
        "first_value": curve.first_value, "last_value": curve.last_value, "energy_j": curve.total_j,
        "gaps": curve.gaps, "gap_s": curve.gap_s, "resets": curve.resets, "peak_w": curve.peak_w,
        "max_gap_s": curve.max_gap_s,
    }


def _check_columns(check: CounterCheck, rows: pd.DataFrame) -> dict:
    time_s = np.unique(rows["time_s"].to_numpy(dtype=float))
    power_w = rows["power_w"].to_numpy(dtype=float) if "power_w" in rows else np.full(len(rows), np.nan)
    power_w = power_w[np.isfinite(power_w)]
    return {"counter_j": check.counter_j, "power_j": check.power_j,
            "repaired_windows": check.repaired_windows, "repaired_s": check.repaired_s,
            "repaired_counter_j": check.repaired_counter_j, "repaired_power_j": check.repaired_power_j,
            "disputed_windows": check.disputed_windows, "disputed_s": check.disputed_s,
            "disputed_counter_j": check.disputed_counter_j, "disputed_power_j": check.disputed_power_j,
            "unexplained_j": check.unexplained_j,
            "median_dt_s": float(np.median(np.diff(time_s))) if len(time_s) > 1 else np.nan,
            "first_power_w": float(power_w[0]) if len(power_w) else np.nan,
            "last_power_w": float(power_w[-1]) if len(power_w) else np.nan}


def _device_buckets(curve: EnergyCurve, rows: pd.DataFrame, bucket_s: float) -> dict[str, np.ndarray]:
    """Energy, covered seconds and power extremes of one device in each bucket it touches
    (columns as arrays: one frame is built per chunk, not one per device)."""
    time_s, cumulative = curve.time_s, curve.cumulative_j
    if not len(time_s):
        return {}
    index = np.arange(bucket_of(time_s[0], bucket_s), bucket_of(time_s[-1], bucket_s) + 1)
    low = np.maximum(index * bucket_s, time_s[0])
    high = np.minimum((index + 1) * bucket_s, time_s[-1])
    energy_j = np.interp(high, time_s, cumulative) - np.interp(low, time_s, cumulative)
    covered = _coverage(curve)
    covered_s = np.interp(high, time_s, covered) - np.interp(low, time_s, covered)
    min_w, max_w = _power_extremes(curve, rows, index, bucket_s)
    ceiling_w, floor_w = device_bounds(energy_j, covered_s, min_w, max_w, bucket_s)
    keep = (covered_s > 0) | (energy_j != 0) | np.isfinite(max_w)
    count = int(keep.sum())
    labels = {k: np.full(count, getattr(curve, k), dtype=object) for k in ("node", "device", "domain")}
    return {**labels, "bucket": index[keep].astype(np.int64), "energy_j": energy_j[keep],
            "covered_s": covered_s[keep], "min_w": min_w[keep], "max_w": max_w[keep],
            "ceiling_w": ceiling_w[keep], "floor_w": floor_w[keep]}


def _bucket_frame(parts: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    """The device buckets, with each one's power bounds (summaries/bounds.py: summed into the
    domain rows, not stored per device)."""
    columns = [*BUCKET_COLUMNS, *BOUND_COLUMNS]
    parts = [p for p in parts if p]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame({column: np.concatenate([p[column] for p in parts]) for column in columns})


def _coverage(curve: EnergyCurve) -> np.ndarray:
    """Cumulative seconds measured at each sample: a counter measures across a gap, power does not."""
    dt = np.diff(curve.time_s)
    measured = dt if curve.counter else np.where(dt > curve.max_gap_s, 0.0, dt)
    return np.r_[0.0, np.cumsum(measured)]


def _power_points(curve: EnergyCurve, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Instantaneous power: the polled values, else the counter's rate at mid-interval."""
    power_w = rows["power_w"].to_numpy(dtype=float) if "power_w" in rows else np.full(len(rows), np.nan)
    keep = np.isfinite(power_w)
    if keep.any() or len(curve.time_s) < 2:
        return rows["time_s"].to_numpy(dtype=float)[keep], power_w[keep]
    dt = np.diff(curve.time_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(dt > 0, np.diff(curve.cumulative_j) / dt, np.nan)
    return (curve.time_s[1:] + curve.time_s[:-1]) / 2.0, rates


def _power_extremes(curve: EnergyCurve, rows: pd.DataFrame, index: np.ndarray,
                    bucket_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest instantaneous power in each bucket (NaN where none was seen)."""
    points_s, points_w = _power_points(curve, rows)
    low, high = np.full(len(index), np.nan), np.full(len(index), np.nan)
    keep = np.isfinite(points_w) & np.isfinite(points_s)
    if keep.any():
        slot = np.clip((bucket_of(points_s[keep], bucket_s) - index[0]).astype(np.int64), 0, len(index) - 1)
        np.fmin.at(low, slot, points_w[keep])
        np.fmax.at(high, slot, points_w[keep])
    return low, high


def domain_buckets(buckets: pd.DataFrame) -> pd.DataFrame:
    """Per node, domain and bucket: energy summed over devices, the sum of their mean powers, and
    the sums of their power bounds (summaries/bounds.py)."""
    if buckets.empty:
        return pd.DataFrame(columns=DOMAIN_COLUMNS)
    covered = buckets["covered_s"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_w = np.where(covered > 0, buckets["energy_j"].to_numpy(dtype=float) / covered, 0.0)
    frame = buckets.assign(power_w=mean_w)
    grouped = frame.groupby(["node", "domain", "bucket"], sort=True, observed=True)
    out = grouped.agg(energy_j=("energy_j", "sum"), power_w=("power_w", "sum"),
                      covered_s=("covered_s", "sum"), devices=("device", "count"),
                      ceiling_w=("ceiling_w", "sum"), floor_w=("floor_w", "sum")).reset_index()
    return out[DOMAIN_COLUMNS]
