"""Intensity sources: country averages offline, hourly series weighed by the energy curve."""

import numpy as np
import pandas as pd
import pytest

from olmo_green.carbon import CarbonOptions, country_intensity, read_intensity_series, resolve_factors
from olmo_green.errors import ConfigError, InputFileError
from olmo_green.hardware import load_profile
from olmo_green.integrate import curve_from_samples

T0 = 1_700_000_000.0 - 1_700_000_000.0 % 3600  # an hour boundary


def _curve(time_s, power_w):
    return curve_from_samples(pd.DataFrame({"time_s": time_s, "node": "n", "device": "0", "domain": "gpu",
                                            "power_w": power_w, "energy_j": np.nan, "source": "nvml"}))


def test_country_average_comes_from_codecarbons_bundled_data():
    finland = country_intensity("fin")
    assert 0.01 < finland.kg_per_kwh < 0.3 and "Finland" in finland.source
    assert country_intensity("AUS").kg_per_kwh > finland.kg_per_kwh


def test_two_letter_country_code_says_use_three():
    with pytest.raises(ConfigError, match="alpha-3"):
        country_intensity("FI")


def test_hourly_series_weighs_each_hour_by_its_energy(tmp_path):
    path = tmp_path / "grid.csv"
    path.write_text(f"timestamp,g_per_kwh\n{T0:.0f},100\n{T0 + 3600:.0f},500\n")
    series = read_intensity_series(path)
    # 1 kW in the first hour, 3 kW in the second.
    time_s = T0 + np.arange(0.0, 7201.0, 60.0)
    curve = _curve(time_s, np.where(time_s < T0 + 3600, 1000.0, 3000.0))
    kg = series.emissions_kg([curve], pue=1.0)
    assert kg == pytest.approx(1.0 * 0.1 + 3.0 * 0.5, rel=0.02)  # step at the boundary: one trapezoid


def test_series_accepts_iso_timestamps(tmp_path):
    path = tmp_path / "grid.csv"
    path.write_text("timestamp,g_per_kwh\n2024-01-01T00:00:00Z,10\n2024-01-01T01:00:00+00:00,20\n")
    assert read_intensity_series(path).g_per_kwh.tolist() == [10.0, 20.0]


def test_series_must_cover_the_run(tmp_path):
    from olmo_green.carbon import carbon_lines

    path = tmp_path / "grid.csv"
    path.write_text(f"timestamp,g_per_kwh\n{T0:.0f},100\n")
    factors = resolve_factors(CarbonOptions(intensity_series=str(path)), None)
    curve = _curve(T0 + np.arange(0.0, 7200.0, 60.0), np.full(120, 100.0))
    with pytest.raises(InputFileError, match="missing hours"):
        carbon_lines([curve], factors)


def test_lumi_headline_is_market_and_location_is_finlands_grid():
    factors = resolve_factors(CarbonOptions(), load_profile("lumi"))
    assert [i.basis for i in factors.intensities] == ["market", "location"]
    assert factors.intensities[0].kg_per_kwh == 0.0
    assert "Finland" in factors.intensities[1].source


def test_user_intensity_becomes_the_headline_and_keeps_the_other_basis():
    factors = resolve_factors(CarbonOptions(intensity_kg_per_kwh=0.024), load_profile("lumi"))
    assert [i.basis for i in factors.intensities] == ["given", "market", "location"]


def test_several_intensity_options_are_refused():
    with pytest.raises(ConfigError, match="one of"):
        resolve_factors(CarbonOptions(intensity_kg_per_kwh=0.1, country="FIN"), None)


def test_intensity_in_grams_by_mistake_is_refused():
    with pytest.raises(ConfigError, match="kg CO2e/kWh"):
        resolve_factors(CarbonOptions(intensity_kg_per_kwh=656.0), None)
