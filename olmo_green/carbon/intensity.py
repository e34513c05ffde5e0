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
from typing import TYPE_CHECKING

import numpy as np

from olmo_green.units import G_PER_KG, J_PER_KWH, S_PER_HOUR

if TYPE_CHECKING:  # types only: carbon needs no telemetry or hardware code at run time
    from olmo_green.integrate import EnergyCurve


@dataclass(frozen=True)
class ConstantIntensity:
    """One intensity for the whole run."""

    kg_per_kwh: float
    basis: str  # location, market or given (a number the user passed)
    source: str

    def emissions_kg(self, curves: Sequence[EnergyCurve], pue: float) -> float:
        return emissions_kg(sum(c.total_j for c in curves), pue, self.kg_per_kwh)

    def kg_per_kwh_at(self, time_s: np.ndarray) -> np.ndarray:
        return np.full(len(time_s), self.kg_per_kwh)


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
            total += curve.energy_between_j(starts, starts + S_PER_HOUR)
        return total

    def emissions_kg(self, curves: Sequence[EnergyCurve], pue: float) -> float:
        energy_kwh = self.hourly_energy_j(curves) * pue / J_PER_KWH
        return float(energy_kwh @ (self.g_per_kwh / G_PER_KG))

    def kg_per_kwh_at(self, time_s: np.ndarray) -> np.ndarray:
        """The intensity of the hour each time falls in (kg/kWh); NaN outside the series."""
        hour = np.searchsorted(self.hour_start_s, time_s, side="right") - 1
        hour = np.clip(hour, 0, len(self.g_per_kwh) - 1)
        inside = (time_s >= self.hour_start_s[0]) & (time_s < self.hour_start_s[-1] + S_PER_HOUR)
        return np.where(inside, self.g_per_kwh[hour] / G_PER_KG, np.nan)

    @property
    def kg_per_kwh(self) -> float:
        """Plain mean of the series; reports print the energy-weighted one."""
        return float(self.g_per_kwh.mean() / G_PER_KG)


Intensity = ConstantIntensity | HourlyIntensity


def emissions_kg(energy_j: float | np.ndarray, pue: float,
                 kg_per_kwh: float | np.ndarray) -> float | np.ndarray:
    """Emissions (kg CO2e) of accelerator energy: energy x PUE (facility energy, in kWh) x
    intensity (docs/design.md, Carbon). The one place this product is written."""
    return energy_j * pue / J_PER_KWH * kg_per_kwh


def effective_kg_per_kwh(emissions_kg: float, energy_j: float, pue: float) -> float:
    """The intensity that gives these emissions for this energy (energy-weighted mean)."""
    facility_kwh = energy_j * pue / J_PER_KWH
    return emissions_kg / facility_kwh if facility_kwh > 0 else 0.0
