"""Plausibility checks at the sampler/source boundary: values no sensor can mean are dropped, and counted.

A source that lies (a negative power or counter, NaN or infinity, an
accelerator's power above 3x its TDP) would otherwise be integrated as energy.
Such a value is dropped, not clamped: a clamp would invent a number. A dropped
power value is a missing sample (integration bridges it, or it becomes a gap);
a dropped counter value leaves the next good reading to carry the energy. A
reading left with no value at all is dropped whole. Every drop is counted by
source and reason, and the sampler writes the counts as `rejected_samples`
events, which reports print.

Not checked here: a counter that jumps too far (the end-of-run counter check
against integrated power flags it, ledger.counter_checks), and power from
domains other than gpu (a node's power has no TDP in the profile).
"""

from __future__ import annotations

import dataclasses
import math
import threading

from olmo_green import record as rr
from olmo_green.checks import gpu_limit_w
from olmo_green.hardware.profiles import HardwareProfile
from olmo_green.telemetry.sources.base import Reading

REASONS = ("negative", "not_finite", "above_limit")


class SampleFilter:
    """Drops implausible values from readings and counts them until `take_counts`."""

    def __init__(self, gpu_limit_w: float | None = None) -> None:
        self.gpu_limit_w = gpu_limit_w
        self._counts: dict[tuple[str, str], int] = {}  # (source, reason) -> drops not yet reported
        self._lock = threading.Lock()

    @classmethod
    def for_profile(cls, profile: HardwareProfile | None) -> SampleFilter:
        """The limit is gpu_limit_w(profile)."""
        return cls(gpu_limit_w(profile))

    def check(self, readings: list[Reading]) -> list[Reading]:
        """The readings with implausible values replaced by NaN; empty readings left out."""
        kept = []
        for reading in readings:
            power_w, power_reason = self._power(reading)
            energy_j, energy_reason = self._energy(reading)
            for reason in (power_reason, energy_reason):
                if reason:
                    self._count(reading.source, reason)
            if power_reason or energy_reason:
                reading = dataclasses.replace(reading, power_w=power_w, energy_j=energy_j)
            if math.isnan(reading.power_w) and math.isnan(reading.energy_j):
                if not (power_reason or energy_reason):
                    self._count(reading.source, "not_finite")  # a reading with no value at all
                continue
            kept.append(reading)
        return kept

    def _power(self, r: Reading) -> tuple[float, str]:
        if math.isnan(r.power_w):
            return r.power_w, ""  # counter-only sources have no power: not a lie
        if math.isinf(r.power_w):
            return math.nan, "not_finite"
        if r.power_w < 0.0:
            return math.nan, "negative"
        if self.gpu_limit_w is not None and r.domain == "gpu" and r.power_w > self.gpu_limit_w:
            return math.nan, "above_limit"
        return r.power_w, ""

    @staticmethod
    def _energy(r: Reading) -> tuple[float, str]:
        if math.isnan(r.energy_j):
            return r.energy_j, ""  # no counter on this device
        if math.isinf(r.energy_j):
            return math.nan, "not_finite"
        if r.energy_j < 0.0:
            return math.nan, "negative"
        return r.energy_j, ""

    def _count(self, source: str, reason: str) -> None:
        with self._lock:
            self._counts[(source, reason)] = self._counts.get((source, reason), 0) + 1

    def take_counts(self) -> list[dict]:
        """`rejected_samples` event fields per source for the drops since the last call."""
        with self._lock:
            counts, self._counts = self._counts, {}
        by_source: dict[str, dict[str, int]] = {}
        for (source, reason), n in counts.items():
            by_source.setdefault(source, {})[reason] = n
        return [{"kind": rr.EVENT_REJECTED_SAMPLES, "source": source, "counts": reasons,
                 "limit_w": self.gpu_limit_w} for source, reasons in sorted(by_source.items())]
