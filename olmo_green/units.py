"""Units and their conversion factors, defined once (docs/design.md, Where code goes).

SI inside: energy in J, time in s, mass in kg, water in L. Figures leave in the
model card's units (kWh, MWh, t CO2e, kL) by dividing by these constants, so a
conversion is written the same way everywhere and a reader finds its factor here.
"""

from __future__ import annotations

S_PER_HOUR = 3600.0  # seconds in an hour: hourly intensities and device-hours
J_PER_KWH = 1000.0 * S_PER_HOUR  # 1 kWh = 1000 W x 3600 s = 3.6e6 J
J_PER_MWH = 1000.0 * J_PER_KWH  # 3.6e9 J
KG_PER_T = 1000.0  # kg per tonne (t CO2e)
G_PER_KG = 1000.0  # grams per kg (g/kWh series, Prometheus grams)
L_PER_KL = 1000.0  # litres per kilolitre (water)
KWH_PER_MWH = 1000.0


def kwh(energy_j: float) -> float:
    """Energy in kWh."""
    return energy_j / J_PER_KWH


def mwh(energy_j: float) -> float:
    """Energy in MWh, as J -> kWh -> MWh (the order every report has always divided in)."""
    return energy_j / J_PER_KWH / KWH_PER_MWH
