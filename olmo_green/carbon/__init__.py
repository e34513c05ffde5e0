"""Carbon: intensity sources (constant, country average, hourly series) and accounting."""

from olmo_green.carbon.accounting import (
    CarbonFactors,
    CarbonLine,
    CarbonOptions,
    carbon_lines,
    resolve_factors,
)
from olmo_green.carbon.country import country_intensity, known_countries
from olmo_green.carbon.intensity import ConstantIntensity, HourlyIntensity, emissions_kg
from olmo_green.carbon.series import read_intensity_series

__all__ = [
    "CarbonFactors", "CarbonLine", "CarbonOptions", "ConstantIntensity", "HourlyIntensity",
    "carbon_lines", "country_intensity", "emissions_kg", "known_countries", "read_intensity_series",
    "resolve_factors",
]
