"""Carbon intensity sources: a constant, a country's average, or an hourly series.

Each source turns energy curves (accelerator energy over time) into emissions.
A constant multiplies the total; an hourly series weighs each hour's energy,
found with EnergyCurve.energy_between_j over hour windows, by that hour's
intensity, so a run that draws more power at night is counted at night's mix.

SI inside: energy in J, intensity in kg CO2e per kWh (the model card's unit);
the series file is in g/kWh, the unit grid operators publish.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from olmo_green.telemetry.integrate import EnergyCurve

J_PER_KWH = 3.6e6
HOUR_S = 3600.0


@dataclass(frozen=True)
class ConstantIntensity:
    """One intensity for the whole run."""

    kg_per_kwh: float
    basis: str  # location, market or given (a number the user passed)
    source: str

    def emissions_kg(self, curves: Sequence[EnergyCurve], pue: float) -> float:
        energy_j = sum(c.total_j for c in curves)
        return energy_j * pue / J_PER_KWH * self.kg_per_kwh


@dataclass(frozen=True)
class HourlyIntensity:
    """An hourly series: hour_start_s[i] .. + 1 h has g_per_kwh[i]."""

    hour_start_s: np.ndarray
    g_per_kwh: np.ndarray
    basis: str
    source: str

    def hourly_energy_j(self, curves: Sequence[EnergyCurve]) -> np.ndarray:
        """Energy of all curves inside each hour of the series."""
        starts = self.hour_start_s
        total = np.zeros(len(starts))
        for curve in curves:
            total += curve.energy_between_j(starts, starts + HOUR_S)
        return total

    def emissions_kg(self, curves: Sequence[EnergyCurve], pue: float) -> float:
        energy_kwh = self.hourly_energy_j(curves) * pue / J_PER_KWH
        return float(energy_kwh @ (self.g_per_kwh / 1000.0))

    @property
    def kg_per_kwh(self) -> float:
        """Plain mean of the series; reports print the energy-weighted one."""
        return float(self.g_per_kwh.mean() / 1000.0)


Intensity = ConstantIntensity | HourlyIntensity


def effective_kg_per_kwh(emissions_kg: float, energy_j: float, pue: float) -> float:
    """The intensity that gives these emissions for this energy (energy-weighted mean)."""
    facility_kwh = energy_j * pue / J_PER_KWH
    return emissions_kg / facility_kwh if facility_kwh > 0 else 0.0
