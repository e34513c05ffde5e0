"""The account of one run: its energy, where it went, and its emissions.

A RunAccount is what every report format prints and what the dashboard draws;
it is built from files only (a run directory or a trace), never live objects.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from olmo_green.carbon import CarbonLine
from olmo_green.reports.holistic import Holistic
from olmo_green.reports.swings import PowerSwings
from olmo_green.units import J_PER_KWH, mwh

BANDS_TABLE = Path(__file__).with_name("error_bands.csv")


@dataclass(frozen=True)
class DeviceEnergy:
    """One device's (or one node's, domain=node) energy and how it was measured."""

    node: str
    device: str
    domain: str
    method: str
    energy_j: float
    duration_s: float
    resets: int
    gaps: int
    gap_s: float
    gap_upper_j: float


@dataclass(frozen=True)
class Gaps:
    """Intervals without samples (from the curves) and gap events (from events.jsonl)."""

    count: int = 0
    seconds: float = 0.0
    upper_j: float = 0.0  # energy not counted across power gaps, at most this
    events: int = 0
    event_s: float = 0.0


@dataclass
class RunAccount:
    """Everything a report says about one run or trace."""

    name: str
    path: str
    hardware: str | None
    gpu_type: str
    method: str  # counter, power_integration, modelled, replayed (or a+b when mixed)
    gpu_energy_j: float
    pue: float
    pue_source: str
    carbon: list[CarbonLine]  # the headline first
    devices: list[DeviceEnergy] = field(default_factory=list)
    node_energy_j: float | None = None  # domain=node, includes the accelerators: never added
    phases_j: dict[str, float] = field(default_factory=dict)  # train, eval, checkpoint, ..., outside
    tokens: float | None = None
    mfu: float | None = None  # model FLOPs utilisation on GPUs; None where unknown (reports/efficiency.py)
    mfu_note: str = ""  # why mfu is None, in words (reports/efficiency.py)
    gaps: Gaps = field(default_factory=Gaps)
    error_band_rel: float = 0.0
    error_band_source: str = ""
    notes: list[str] = field(default_factory=list)
    # Implausible sensor values dropped by the sampler, per reason (telemetry/validate.py), and
    # rows a full disk kept out of the record, per file (events rejected_samples, records_dropped).
    rejected_samples: dict[str, int] = field(default_factory=dict)
    records_dropped: dict[str, int] = field(default_factory=dict)
    steps: pd.DataFrame | None = None  # per step: energy and cumulative emissions (see steps.py)
    # Beyond the headline, never added to it: water, embodied carbon, all-hardware energy (holistic.py)
    holistic: Holistic | None = None
    tags: dict[str, str] = field(default_factory=dict)  # config.yaml's tags (train --tag KEY=VALUE)
    power_swings: PowerSwings | None = None  # the job's power over wall time (swings.py)
    trace: dict | None = None  # a trace's files: format (sniffed?), rows read and dropped (traces/report.py)

    # -- the model card's columns ------------------------------------------
    @property
    def headline(self) -> CarbonLine:
        return self.carbon[0]

    @property
    def gpu_energy_mwh(self) -> float:
        return mwh(self.gpu_energy_j)

    @property
    def facility_energy_mwh(self) -> float:
        return self.gpu_energy_mwh * self.pue

    @property
    def intensity_kg_per_kwh(self) -> float:
        return self.headline.intensity_kg_per_kwh

    @property
    def emissions_tco2eq(self) -> float:
        return self.headline.emissions_t

    @property
    def intensities_kg_per_kwh(self) -> dict[str, float]:
        """Intensity of each basis known for this run (location, market, given)."""
        return {line.basis: line.intensity_kg_per_kwh for line in self.carbon}

    # -- derived figures ---------------------------------------------------
    @property
    def energy_band_mwh(self) -> tuple[float, float]:
        """Low and high GPU energy: the method's band, plus what power gaps may hide."""
        low = self.gpu_energy_mwh * (1.0 - self.error_band_rel)
        high = self.gpu_energy_mwh * (1.0 + self.error_band_rel) + mwh(self.gaps.upper_j)
        return low, high

    @property
    def energy_per_token_j(self) -> float | None:
        return self.gpu_energy_j / self.tokens if self.tokens else None

    @property
    def tokens_per_kwh(self) -> float | None:
        """Train tokens per kWh of GPU energy (before PUE): higher is greener for the same model."""
        if not self.tokens or self.gpu_energy_j <= 0:
            return None
        return self.tokens / (self.gpu_energy_j / J_PER_KWH)

    @property
    def kwh_per_billion_tokens(self) -> float | None:
        return self.gpu_energy_j / J_PER_KWH / self.tokens * 1e9 if self.tokens else None

    @property
    def node_energy_by_node_j(self) -> dict[str, float]:
        """Accelerator energy per node (domain gpu)."""
        totals: dict[str, float] = {}
        for d in self.devices:
            if d.domain == "gpu":
                totals[d.node] = totals.get(d.node, 0.0) + d.energy_j
        return totals


@lru_cache(maxsize=1)
def error_bands() -> dict[str, tuple[float, str]]:
    """Relative error band of each method, with its source (error_bands.csv)."""
    with BANDS_TABLE.open(encoding="utf-8") as f:
        return {row["method"]: (float(row["relative"]), row["source"]) for row in csv.DictReader(f)}
