"""A node's chunk summaries -> its devices' energy and its energy over time.

Joining chunks uses integrate.py's rules on the two samples either side of each
seam (the last of one chunk, the first of the next): a counter's delta (a drop
is a reset), or the trapezoid of power unless the interval is a gap. So the
seam's energy is counted once, and a device's total equals what integrating
all its samples at once gives (to rounding), however the samples were chunked.

Per domain, the node's energy over time is an EnergyCurve with a knot at every
bucket edge: exact at the edges (hours included), linear in between. That is
what hourly intensities, window energies and the job's power are read from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from olmo_green.crosscheck.counter import allowed_difference_j
from olmo_green.crosscheck.gaps import sample_stretches
from olmo_green.integrate import EnergyCurve, bucket_of, counter_step_j, method_for, uses_counter
from olmo_green.record.layout import ACCELERATOR_DOMAINS
from olmo_green.summaries.bounds import bucket_bounds, held_bounds, with_seams
from olmo_green.summaries.build import resolution_s


class MixedMethods(Exception):
    """A device's chunks disagree on counter or power: integrate its samples whole instead."""


class ChunksOverlap(MixedMethods):
    """A device's chunk starts before its previous chunk ended (a copied or restored chunk):
    joining their totals would count the shared stretch twice, so the node is integrated whole,
    where each sample time counts once."""


@dataclass
class NodeEnergy:
    """One node of a run, from its summaries (or from its samples, integrated whole)."""

    node: str
    devices: list[EnergyCurve]  # per device: totals, gaps, resets, method (knots only at the ends)
    timeline: list[EnergyCurve]  # per domain: energy over time, a knot at every bucket edge
    power: dict[str, pd.DataFrame] = field(default_factory=dict)  # per domain: bucket, power_w, devices
    bucket_s: float = 10.0
    samples: int = 0
    unreadable: list[str] = field(default_factory=list)
    bad_rows: int = 0
    distrusted: list[str] = field(default_factory=list)  # summaries rebuilt as self-contradicting
    device_buckets: pd.DataFrame | None = None  # build.BUCKET_COLUMNS, loaded for the dashboard only
    # The accelerators' power at the summaries' own bucket width, for the job's power (summed
    # over nodes by the caller, which then drops it): `power` may be held coarser (merge_node).
    fine_power: dict[str, pd.DataFrame] = field(default_factory=dict)
    fine_bucket_s: float = 10.0
    # Per device: the counter against power (crosscheck/counter.py), summed over chunks and seams
    checks: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CHECK_COLUMNS))
    # Per device: the stretches its chunks cover and their gap seconds (crosscheck/gaps.py)
    stretches: pd.DataFrame | None = None
    # Per chunk: accelerator power values above the profile's limit, dropped (summaries/build.py)
    implausible: dict[str, int] = field(default_factory=dict)
    # The highest mark among the node's chunks (record/chunks.py CHUNK_FORMAT): 2 promises a sensors
    # event that lists the devices the node's meter counts (crosscheck/sensors.py)
    chunk_format: int = 1


@dataclass
class _Seams:
    """The joins between consecutive chunks of every device: where and how much energy."""

    domain: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    energy_j: np.ndarray


KEYS = ["node", "device", "domain"]
DISPUTE_COLUMNS = ["disputed_windows", "disputed_s", "disputed_counter_j", "disputed_power_j",
                   "unexplained_j"]
CHECK_COLUMNS = [*KEYS, "counter", "counter_j", "power_j", "repaired_windows", "repaired_s",
                 "repaired_counter_j", "repaired_power_j", "median_dt_s", *DISPUTE_COLUMNS]


def merge_node(node: str, devices: pd.DataFrame, domains: pd.DataFrame, bucket_s: float,
               buckets: pd.DataFrame | None = None, max_buckets: float = math.inf) -> NodeEnergy:
    """The node's energy from its chunk summaries (`devices` with each chunk's `order` in time);
    MixedMethods if a device's chunks disagree on counter or power.

    `max_buckets`: the most time steps to hold per domain. A long record is held at a wider
    resolution (build.resolution_s, still a divisor of an hour), so a report of 256 nodes x 11
    days fits in memory; totals stay exact, and the node's full-resolution accelerator power
    is kept aside (`fine_power`) for the job's power, which the caller sums over nodes.
    """
    if not len(devices):
        return NodeEnergy(node, [], [], {}, bucket_s, device_buckets=buckets)
    frame = devices.sort_values([*KEYS, "order"], kind="stable").reset_index(drop=True)
    frame["device_counter"] = frame.groupby(KEYS, sort=False, dropna=False)["counter_readings"] \
        .transform("sum").map(uses_counter)
    valid = frame[frame["valid"] > 0].reset_index(drop=True)
    if (valid["counter"].astype(bool) != valid["device_counter"]).any():
        bad = valid[valid["counter"].astype(bool) != valid["device_counter"]].iloc[0]
        raise MixedMethods(f"{bad['node']}/{bad['device']}")
    valid, seams = _with_seams(valid)
    curves = _device_curves(valid)
    checks = _checks(valid)
    span_s = max((float(c.time_s[-1] - c.time_s[0]) for c in curves if len(c.time_s)), default=0.0)
    held_s = resolution_s(span_s, max_buckets, bucket_s)
    timeline, power = _timelines(node, curves, domains, seams, bucket_s, held_s)
    fine = {d: f for d, f in power.items() if d in ACCELERATOR_DOMAINS}
    if held_s > bucket_s:
        power = {d: _coarser_power(f, bucket_s, held_s) for d, f in power.items()}
        buckets = _coarser_buckets(buckets, bucket_s, held_s) if buckets is not None else None
    return NodeEnergy(node, curves, timeline, power, held_s, samples=int(devices["rows"].sum()),
                      device_buckets=buckets, fine_power=fine, fine_bucket_s=bucket_s, checks=checks,
                      stretches=sample_stretches(valid))


def _checks(valid: pd.DataFrame) -> pd.DataFrame:
    """Per device: counter and power energy, and the windows (seams included) repaired from power."""
    frame = valid.assign(**{c: np.nan for c in CHECK_COLUMNS if c not in valid and c != "counter"})
    frame = frame.assign(repaired_windows=frame["repaired_windows"].fillna(0) + frame["seam_repaired"],
                         repaired_s=frame["repaired_s"].fillna(0) + frame["seam_repaired_s"],
                         repaired_counter_j=frame["repaired_counter_j"].fillna(0) + frame["seam_counter_j"],
                         repaired_power_j=frame["repaired_power_j"].fillna(0) + frame["seam_power_j"])
    # One summing pass over every column that adds up (a named aggregation per column cost about
    # 1 ms a column a node: a tenth of a 256-node report's time); the two others alone.
    summed = ["counter_j", "power_j", "repaired_windows", "repaired_s", "repaired_counter_j",
              "repaired_power_j", *DISPUTE_COLUMNS]
    grouped = frame.groupby(KEYS, sort=True, dropna=False)
    totals = grouped[summed].sum()
    totals["counter"] = grouped["device_counter"].first()
    totals["median_dt_s"] = grouped["median_dt_s"].median()
    return totals.reset_index()[CHECK_COLUMNS]


def _with_seams(valid: pd.DataFrame) -> tuple[pd.DataFrame, _Seams]:
    """Each row gains the seam that follows it (to the device's next chunk), by integrate.py's rules."""
    same = np.zeros(len(valid), dtype=bool)
    if len(valid) > 1:  # rows are sorted by device: a seam joins a row to the next of its device
        keys = valid.groupby(KEYS, sort=False, dropna=False).ngroup().to_numpy()
        same[:-1] = keys[:-1] == keys[1:]
    left, right = valid[same[: len(valid)]], valid.shift(-1)[same[: len(valid)]]
    dt = (right["first_s"] - left["last_s"]).to_numpy(float)
    # A sample read at a window boundary may land a hair out of order across a roll: harmless (the
    # seam counts nothing). A chunk starting more than a few sample periods back overlaps.
    overlaps = dt < -np.fmax(left["max_gap_s"].to_numpy(float), 1.0)
    if overlaps.any():
        overlap = left[overlaps].iloc[0]
        raise ChunksOverlap(f"{overlap['node']}/{overlap['device']}")
    is_gap = dt > np.maximum(left["max_gap_s"].to_numpy(float), right["max_gap_s"].to_numpy(float))
    counter = left["device_counter"].to_numpy(bool)
    before, after = left["last_value"].to_numpy(float), right["first_value"].to_numpy(float)
    delta_j, reset = counter_step_j(before, after)
    trapezoid_j = np.where(is_gap | (dt <= 0), 0.0, dt * (before + after) / 2.0)
    seam_j = np.where(counter, delta_j, trapezoid_j)
    # The counter across a seam against power either side (crosscheck/counter.py's rule): a counter
    # that jumped to garbage between chunks takes the power trapezoid, and counts as repaired.
    power_before = left["last_power_w"].to_numpy(float) if "last_power_w" in left \
        else np.full(len(left), np.nan)
    power_after = right["first_power_w"].to_numpy(float) if "first_power_w" in right else power_before
    power_j = dt * (power_before + power_after) / 2.0
    with np.errstate(invalid="ignore"):
        allowed = allowed_difference_j(np.fmax(delta_j, power_j), dt, np.fmax(power_before, power_after), dt)
        broken = counter & ~is_gap & (dt > 0) & np.isfinite(power_j) & (np.abs(delta_j - power_j) > allowed)
    seam_j = np.where(broken, power_j, seam_j)
    valid = valid.assign(seam_j=0.0, seam_gap=False, seam_gap_s=0.0, seam_reset=0, seam_repaired=0,
                         seam_repaired_s=0.0, seam_counter_j=0.0, seam_power_j=0.0)
    valid.loc[same, "seam_repaired"] = broken.astype(int)
    valid.loc[same, "seam_repaired_s"] = np.where(broken, dt, 0.0)
    valid.loc[same, "seam_counter_j"] = np.where(broken, delta_j, 0.0)
    valid.loc[same, "seam_power_j"] = np.where(broken, power_j, 0.0)
    valid.loc[same, "seam_j"] = seam_j
    valid.loc[same, "seam_gap"] = is_gap
    valid.loc[same, "seam_gap_s"] = np.where(is_gap, dt, 0.0)
    valid.loc[same, "seam_reset"] = np.where(counter, reset, 0).astype(int)
    seams = _Seams(left["domain"].astype(str).to_numpy(), left["last_s"].to_numpy(float),
                   right["first_s"].to_numpy(float), seam_j)
    return valid, seams


def _device_curves(valid: pd.DataFrame) -> list[EnergyCurve]:
    """Each device's totals over its chunks and the seams between them (one grouped pass)."""
    totals = valid.groupby(KEYS, sort=True, dropna=False).agg(
        source=("source", "first"), counter=("device_counter", "first"), first_s=("first_s", "first"),
        last_s=("last_s", "last"), energy_j=("energy_j", "sum"), seam_j=("seam_j", "sum"),
        gaps=("gaps", "sum"), seam_gaps=("seam_gap", "sum"), gap_s=("gap_s", "sum"),
        seam_gap_s=("seam_gap_s", "sum"), resets=("resets", "sum"), seam_resets=("seam_reset", "sum"),
        peak_w=("peak_w", "max")).reset_index()
    return [_device_curve(row) for row in totals.itertuples(index=False)]


def _device_curve(row) -> EnergyCurve:
    counter = bool(row.counter)
    energy_j = float(row.energy_j + row.seam_j)
    gap_s = float(row.gap_s + row.seam_gap_s)
    peak_w = 0.0 if counter else float(row.peak_w)
    return EnergyCurve(
        node=str(row.node), device=str(row.device), domain=str(row.domain), source=str(row.source),
        method=method_for(str(row.source), counter), time_s=np.array([row.first_s, row.last_s], dtype=float),
        cumulative_j=np.array([0.0, energy_j]), gaps=int(row.gaps + row.seam_gaps), gap_s=gap_s,
        gap_upper_j=(0.0 if counter else gap_s) * peak_w, resets=int(row.resets + row.seam_resets),
        peak_w=peak_w, counter=counter)


def _timelines(node: str, curves: list[EnergyCurve], domains: pd.DataFrame, seams: _Seams,
               bucket_s: float, held_s: float) -> tuple[list[EnergyCurve], dict[str, pd.DataFrame]]:
    timeline, power = [], {}
    for domain in sorted({c.domain for c in curves}):
        members = [c for c in curves if c.domain == domain and len(c.time_s)]
        if not members:
            continue
        rows = domains[domains["domain"] == domain] if len(domains) else domains
        start_s = min(float(c.time_s[0]) for c in members)
        end_s = max(float(c.time_s[-1]) for c in members)
        mine = seams.domain == domain
        domain_seams = _Seams(seams.domain[mine], seams.start_s[mine], seams.end_s[mine],
                              seams.energy_j[mine])
        energy = _bucket_energy(rows, domain_seams, start_s, end_s, bucket_s)
        bounds = _power_bounds(rows, domain_seams, start_s, len(energy), bucket_s)
        if held_s > bucket_s:  # sum whole buckets into the held resolution's steps
            first = int(bucket_of(start_s, bucket_s))
            step = ((first + np.arange(len(energy))) * bucket_s // held_s).astype(np.int64)
            energy = np.bincount(step - step[0], energy)
            bounds = held_bounds(*bounds, step - step[0])
        curve = _domain_curve(node, domain, members, energy, start_s, end_s, held_s)
        curve.ceiling_w, curve.floor_w = bounds if len(curve.time_s) > 1 else (np.empty(0), np.empty(0))
        timeline.append(curve)
        power[domain] = _domain_power(rows)
    return timeline, power


def _power_bounds(rows: pd.DataFrame, seams: _Seams, start_s: float, count: int,
                  bucket_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The domain's (ceiling_w, floor_w) in each bucket from the first sample on (bounds.py)."""
    first = int(bucket_of(start_s, bucket_s))
    ceiling, floor = bucket_bounds(rows, first, count)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_w = np.where(seams.end_s > seams.start_s, seams.energy_j / (seams.end_s - seams.start_s),
                          np.where(seams.energy_j > 0, np.inf, 0.0))
    with_seams(ceiling, floor, first, bucket_of(seams.start_s, bucket_s).astype(np.int64),
               bucket_of(seams.end_s, bucket_s).astype(np.int64), rate_w)
    return ceiling, floor


def _bucket_energy(rows: pd.DataFrame, seams: _Seams, start_s: float, end_s: float,
                   bucket_s: float) -> np.ndarray:
    """Energy in each bucket from the first to the last sample: chunk buckets plus seams."""
    first = int(bucket_of(start_s, bucket_s))
    energy = np.zeros(int(bucket_of(end_s, bucket_s)) - first + 1)
    if len(rows):
        slots = rows["bucket"].to_numpy(dtype=np.int64) - first
        np.add.at(energy, np.clip(slots, 0, len(energy) - 1), rows["energy_j"].to_numpy(dtype=float))
    lo = bucket_of(seams.start_s, bucket_s).astype(np.int64)
    hi = bucket_of(seams.end_s, bucket_s).astype(np.int64)
    # A seam's energy is linear in time: each bucket it touches gets its share. Most seams
    # fall inside one bucket or straddle one edge; those are done at once, longer ones in a loop.
    inside = lo == hi
    np.add.at(energy, np.clip(lo[inside] - first, 0, len(energy) - 1), seams.energy_j[inside])
    straddle = hi == lo + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        before = (hi[straddle] * bucket_s - seams.start_s[straddle]) / \
            (seams.end_s[straddle] - seams.start_s[straddle])
    np.add.at(energy, np.clip(lo[straddle] - first, 0, len(energy) - 1), seams.energy_j[straddle] * before)
    np.add.at(energy, np.clip(hi[straddle] - first, 0, len(energy) - 1),
              seams.energy_j[straddle] * (1.0 - before))
    for i in np.flatnonzero((hi > lo + 1) & (seams.energy_j != 0.0)):
        start, end = seams.start_s[i], seams.end_s[i]
        edges = np.clip(np.arange(lo[i], hi[i] + 2) * bucket_s, start, end)
        share = np.diff(edges) / (end - start)
        np.add.at(energy, np.clip(np.arange(lo[i], lo[i] + len(share)) - first, 0, len(energy) - 1),
                  seams.energy_j[i] * share)
    return energy


def _domain_curve(node: str, domain: str, members: list[EnergyCurve], energy: np.ndarray, start_s: float,
                  end_s: float, bucket_s: float) -> EnergyCurve:
    """Knots at the first sample, every bucket edge inside, and the last sample."""
    first = int(bucket_of(start_s, bucket_s))
    inner = (first + np.arange(1, len(energy))) * bucket_s
    times = np.r_[start_s, inner, end_s] if end_s > start_s else np.r_[start_s]
    cumulative = np.r_[0.0, np.cumsum(energy)] if end_s > start_s else np.r_[0.0]
    methods = sorted({c.method for c in members})
    return EnergyCurve(
        node=node, device="*", domain=domain, source=",".join(sorted({c.source for c in members})),
        method="+".join(methods), time_s=times, cumulative_j=cumulative,
        gaps=sum(c.gaps for c in members), gap_s=sum(c.gap_s for c in members),
        gap_upper_j=sum(c.gap_upper_j for c in members), resets=sum(c.resets for c in members))


def _coarser_power(frame: pd.DataFrame, bucket_s: float, held_s: float) -> pd.DataFrame:
    """Per held step: the mean of its buckets' power (the sum over devices stays a sum)."""
    if not len(frame):
        return frame
    step = (frame["bucket"].to_numpy(np.int64) * bucket_s // held_s).astype(np.int64)
    grouped = frame.assign(bucket=step).groupby("bucket", sort=True)
    return grouped.agg(power_w=("power_w", "mean"), devices=("devices", "max")).reset_index()


def _coarser_buckets(frame: pd.DataFrame, bucket_s: float, held_s: float) -> pd.DataFrame:
    """Device buckets at the held resolution: energy and covered time summed, extremes kept."""
    if not len(frame):
        return frame
    step = (frame["bucket"].to_numpy(np.int64) * bucket_s // held_s).astype(np.int64)
    keys = ["node", "device", "domain", "bucket"]
    grouped = frame.assign(bucket=step).groupby(keys, sort=True, observed=True)
    return grouped.agg(energy_j=("energy_j", "sum"), covered_s=("covered_s", "sum"), min_w=("min_w", "min"),
                       max_w=("max_w", "max")).reset_index()


def _domain_power(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean power per bucket summed over the domain's devices; a bucket split across chunks joins
    (weighted by the seconds each part covered)."""
    if not len(rows):
        return pd.DataFrame(columns=["bucket", "power_w", "devices"])
    bucket = rows["bucket"].to_numpy(dtype=np.int64)
    power = rows["power_w"].to_numpy(dtype=float)
    covered = rows["covered_s"].to_numpy(dtype=float)
    buckets, slot = np.unique(bucket, return_inverse=True)
    weight = np.bincount(slot, power * covered, len(buckets))
    seconds = np.bincount(slot, covered, len(buckets))
    highest = np.full(len(buckets), -np.inf)
    np.maximum.at(highest, slot, power)
    devices = np.zeros(len(buckets))
    np.maximum.at(devices, slot, rows["devices"].to_numpy(dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(seconds > 0, weight / seconds, highest)
    return pd.DataFrame({"bucket": buckets, "power_w": mean, "devices": devices.astype(np.int64)})
