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

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from olmo_green.summaries.build import ChunkSummary
from olmo_green.telemetry.integrate import EnergyCurve, counter_deltas_j, method_for, uses_counter


class MixedMethods(Exception):
    """A device's chunks disagree on counter or power: integrate its samples whole instead."""


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


@dataclass
class _Seam:
    domain: str
    start_s: float
    end_s: float
    energy_j: float


def merge_node(node: str, summaries: list[ChunkSummary], bucket_s: float) -> NodeEnergy:
    """The node's energy from its chunk summaries in time order; MixedMethods if they disagree."""
    devices = pd.concat([s.devices.assign(order=i) for i, s in enumerate(summaries)], ignore_index=True) \
        if summaries else pd.DataFrame()
    curves, seams = [], []
    if len(devices):
        for _, rows in devices.groupby(["node", "device", "domain"], sort=True, dropna=False):
            curve, device_seams = _merge_device(rows.sort_values("order", kind="stable"))
            curves.append(curve)
            seams += device_seams
    domains = pd.concat([s.domains for s in summaries], ignore_index=True) if summaries else pd.DataFrame()
    timeline, power = _timelines(node, curves, domains, seams, bucket_s)
    return NodeEnergy(node, curves, timeline, power, bucket_s, samples=int(devices["rows"].sum())
                      if len(devices) else 0)


def _merge_device(rows: pd.DataFrame) -> tuple[EnergyCurve, list[_Seam]]:
    first = rows.iloc[0]
    counter = uses_counter(int(rows["counter_readings"].sum()))
    valid = rows[rows["valid"] > 0]
    if (valid["counter"].astype(bool) != counter).any():
        raise MixedMethods(f"{first['node']}/{first['device']}")
    energy_j, gaps, gap_s, resets = (float(valid["energy_j"].sum()), int(valid["gaps"].sum()),
                                     float(valid["gap_s"].sum()), int(valid["resets"].sum()))
    power_gap_s = 0.0 if counter else gap_s
    seams = []
    for (_, left), (_, right) in zip(valid.iloc[:-1].iterrows(), valid.iloc[1:].iterrows(), strict=True):
        seam_j, is_gap, reset = _seam(left, right, counter)
        dt = float(right["first_s"] - left["last_s"])
        energy_j, gaps, resets = energy_j + seam_j, gaps + is_gap, resets + reset
        gap_s += dt if is_gap else 0.0
        power_gap_s += dt if is_gap and not counter else 0.0
        seams.append(_Seam(str(first["domain"]), float(left["last_s"]), float(right["first_s"]), seam_j))
    peak_w = float(valid["peak_w"].max()) if len(valid) and not counter else 0.0
    times = np.array([valid["first_s"].iloc[0], valid["last_s"].iloc[-1]]) if len(valid) else np.zeros(0)
    cumulative = np.array([0.0, energy_j]) if len(valid) else np.zeros(0)
    curve = EnergyCurve(
        node=str(first["node"]), device=str(first["device"]), domain=str(first["domain"]),
        source=str(first["source"]), method=method_for(str(first["source"]), counter), time_s=times,
        cumulative_j=cumulative, gaps=gaps, gap_s=gap_s, gap_upper_j=power_gap_s * peak_w, resets=resets,
        peak_w=peak_w, counter=counter)
    return curve, seams


def _seam(left: pd.Series, right: pd.Series, counter: bool) -> tuple[float, bool, int]:
    """Energy between the last sample of one chunk and the first of the next, as integrate.py counts it."""
    dt = float(right["first_s"] - left["last_s"])
    is_gap = dt > max(float(left["max_gap_s"]), float(right["max_gap_s"]))
    if counter:
        deltas, resets = counter_deltas_j(np.array([left["last_value"], right["first_value"]], dtype=float))
        return float(deltas[0]), is_gap, resets
    if is_gap or dt <= 0:
        return 0.0, is_gap, 0
    return dt * (float(left["last_value"]) + float(right["first_value"])) / 2.0, False, 0


def _timelines(node: str, curves: list[EnergyCurve], domains: pd.DataFrame, seams: list[_Seam],
               bucket_s: float) -> tuple[list[EnergyCurve], dict[str, pd.DataFrame]]:
    timeline, power = [], {}
    for domain in sorted({c.domain for c in curves}):
        members = [c for c in curves if c.domain == domain and len(c.time_s)]
        if not members:
            continue
        rows = domains[domains["domain"] == domain] if len(domains) else domains
        start_s = min(float(c.time_s[0]) for c in members)
        end_s = max(float(c.time_s[-1]) for c in members)
        energy = _bucket_energy(rows, [s for s in seams if s.domain == domain], start_s, end_s, bucket_s)
        timeline.append(_domain_curve(node, domain, members, energy, start_s, end_s, bucket_s))
        power[domain] = _domain_power(rows)
    return timeline, power


def _bucket_energy(rows: pd.DataFrame, seams: list[_Seam], start_s: float, end_s: float,
                   bucket_s: float) -> np.ndarray:
    """Energy in each bucket from the first to the last sample: chunk buckets plus seams."""
    first = int(np.floor(start_s / bucket_s))
    energy = np.zeros(int(np.floor(end_s / bucket_s)) - first + 1)
    if len(rows):
        slots = rows["bucket"].to_numpy(dtype=np.int64) - first
        np.add.at(energy, np.clip(slots, 0, len(energy) - 1), rows["energy_j"].to_numpy(dtype=float))
    for seam in seams:  # a seam is linear in time: each bucket gets its share of the interval
        if seam.energy_j == 0.0:
            continue
        lo, hi = int(np.floor(seam.start_s / bucket_s)), int(np.floor(seam.end_s / bucket_s))
        edges = np.clip(np.arange(lo, hi + 2) * bucket_s, seam.start_s, seam.end_s)
        share = np.diff(edges) / (seam.end_s - seam.start_s) if seam.end_s > seam.start_s else np.r_[1.0]
        np.add.at(energy, np.clip(np.arange(lo, lo + len(share)) - first, 0, len(energy) - 1),
                  seam.energy_j * share)
    return energy


def _domain_curve(node: str, domain: str, members: list[EnergyCurve], energy: np.ndarray, start_s: float,
                  end_s: float, bucket_s: float) -> EnergyCurve:
    """Knots at the first sample, every bucket edge inside, and the last sample."""
    first = int(np.floor(start_s / bucket_s))
    inner = (first + np.arange(1, len(energy))) * bucket_s
    times = np.r_[start_s, inner, end_s] if end_s > start_s else np.r_[start_s]
    cumulative = np.r_[0.0, np.cumsum(energy)] if end_s > start_s else np.r_[0.0]
    methods = sorted({c.method for c in members})
    return EnergyCurve(
        node=node, device="*", domain=domain, source=",".join(sorted({c.source for c in members})),
        method="+".join(methods), time_s=times, cumulative_j=cumulative,
        gaps=sum(c.gaps for c in members), gap_s=sum(c.gap_s for c in members),
        gap_upper_j=sum(c.gap_upper_j for c in members), resets=sum(c.resets for c in members))


def _domain_power(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean power per bucket summed over the domain's devices; a bucket split across chunks joins."""
    if not len(rows):
        return pd.DataFrame(columns=["bucket", "power_w", "devices"])
    weighted = rows.assign(weight=rows["power_w"] * rows["covered_s"])
    grouped = weighted.groupby("bucket", sort=True).agg(
        weight=("weight", "sum"), covered_s=("covered_s", "sum"), power_w=("power_w", "max"),
        devices=("devices", "max"))
    covered = grouped["covered_s"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        grouped["power_w"] = np.where(covered > 0, grouped["weight"] / covered, grouped["power_w"])
    return grouped.reset_index()[["bucket", "power_w", "devices"]]
