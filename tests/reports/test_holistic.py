"""Water, embodied carbon and all-hardware energy: the OLMo 2 paper's Table 19 from raw traces.

Traces worth a published energy span years on eight devices; hour-wide buckets keep them cheap
(the energy does not depend on the bucket width, only the swings' resolution does).
"""

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from olmo_green.accounts import account_trace
from olmo_green.cli import cli
from olmo_green.reports import account_run, render, to_json_dict
from tests.reports.traces import constant_power_trace, write_run

HOUR_S = 3600.0
HOLISTIC_KEYS = ("wue_l_per_kwh", "water_kl", "embodied_tco2eq", "all_hardware_energy_mwh")


def _trace(tmp_path_factory, energy_mwh: float, power_w: float):
    path = tmp_path_factory.mktemp("trace") / f"{energy_mwh:g}.csv"
    return constant_power_trace(path, energy_mwh, power_w=power_w)


@pytest.fixture(scope="module")
def jupiter_131(tmp_path_factory):
    return account_trace(_trace(tmp_path_factory, 131.0, 2000.0), bucket_s=HOUR_S, hardware="jupiter")


@pytest.fixture(scope="module")
def augusta_257(tmp_path_factory):
    return account_trace(_trace(tmp_path_factory, 257.0, 2000.0), bucket_s=HOUR_S, hardware="augusta")


@pytest.fixture(scope="module")
def a100_104(tmp_path_factory):
    return account_trace(_trace(tmp_path_factory, 104.0, 1000.0), bucket_s=HOUR_S,
                         hardware="mosaicml-a100", intensity_kg_per_kwh=0.610)


def test_131_mwh_on_jupiter_is_52_19_t_and_202_8_kl(jupiter_131):
    assert jupiter_131.gpu_energy_mwh == pytest.approx(131.0)
    assert round(jupiter_131.emissions_tco2eq, 2) == 52.19
    assert round(jupiter_131.holistic.water_kl, 1) == 202.8
    assert jupiter_131.holistic.water.onsite_l_per_kwh == 0.0
    assert jupiter_131.holistic.water.offsite_l_per_kwh == 1.29


def test_257_mwh_on_augusta_is_101_03_t_and_892_3_kl(augusta_257):
    assert augusta_257.gpu_energy_mwh == pytest.approx(257.0)
    assert round(augusta_257.emissions_tco2eq, 2) == 101.03
    assert round(augusta_257.holistic.water_kl, 1) == 892.3


def test_104_mwh_on_mosaicml_a100_at_0_610_is_69_78_t_and_487_3_kl(a100_104):
    assert round(a100_104.emissions_tco2eq, 2) == 69.78
    assert round(a100_104.holistic.water_kl, 1) == 487.3
    assert a100_104.holistic.water.onsite_l_per_kwh is None  # the paper gives no split: none invented


def test_markdown_table_has_table_19s_water_columns(jupiter_131, augusta_257):
    text = render([jupiter_131, augusta_257], "md")
    header = text.splitlines()[2]
    assert "Water Usage Effectiveness (L/kWh)" in header and "Total Water Usage (kL)" in header
    assert "| 1.29 | 202.8 |" in text and "| 3.1 | 892.3 |" in text
    assert "| 52.19 |" in text and "| 101.03 |" in text  # the headline is unchanged


def test_embodied_carbon_is_device_hours_times_the_cited_factor(jupiter_131):
    device_hours = 131e6 / 2000.0  # Wh / W per device
    assert jupiter_131.holistic.device_hours == pytest.approx(device_hours, rel=1e-6)
    assert jupiter_131.holistic.embodied_tco2eq == pytest.approx(device_hours * 0.013 / 1000.0, rel=1e-6)
    assert "4-year lifetime" in jupiter_131.holistic.embodied_source
    assert "secondary" in jupiter_131.holistic.embodied_source


def test_all_hardware_energy_is_an_estimate_without_node_counters(jupiter_131):
    assert jupiter_131.holistic.all_hardware_energy_mwh == pytest.approx(131.0 * 1.74)
    assert jupiter_131.holistic.all_hardware_basis.startswith("estimate")


def test_holistic_lines_are_never_added_to_the_headline(jupiter_131):
    assert jupiter_131.emissions_tco2eq == pytest.approx(131.0 * 1.2 * 0.332)
    assert jupiter_131.gpu_energy_mwh == pytest.approx(131.0)


def test_json_csv_and_latex_carry_the_new_keys(jupiter_131):
    run = to_json_dict([jupiter_131])["runs"][0]
    assert set(HOLISTIC_KEYS) <= set(run)
    assert run["water_kl"] == pytest.approx(202.788) and run["wue_l_per_kwh"] == pytest.approx(1.29)
    header = render([jupiter_131], "csv").splitlines()[0].split(",")
    assert set(HOLISTIC_KEYS) <= set(header)
    latex = render([jupiter_131], "latex")
    assert "Total Water Usage (kL)" in latex and "202.8" in latex


def test_measured_node_energy_is_the_all_hardware_figure(tmp_path):
    account = account_run(write_run(tmp_path / "run"))  # 1 kW node counter for 100 s
    assert account.holistic.all_hardware_energy_mwh == pytest.approx(1e5 / 3.6e9)
    assert account.holistic.all_hardware_basis.startswith("measured")


def test_profile_without_water_shows_no_water_columns(tmp_path):
    account = account_trace(constant_power_trace(tmp_path / "t.csv", 0.001, power_w=300.0), hardware="lumi")
    assert account.holistic.water.wue_l_per_kwh is None and account.holistic.water_kl is None
    assert "not published" in account.holistic.water.source
    assert "Water Usage" not in render([account], "md").splitlines()[2]
    assert account.holistic.embodied_tco2eq is None  # no published MI250X factor: none invented


def _report(*args):
    return CliRunner().invoke(cli, ["report", *map(str, args)])


def test_wue_flag_overrides_the_profile(tmp_path):
    trace = constant_power_trace(tmp_path / "t.csv", 0.01, power_w=500.0)
    result = _report("--trace", trace, "--hardware", "jupiter", "--wue", "2.5", "--format", "json")
    assert result.exit_code == 0, result.output
    run = json.loads(result.output)["runs"][0]
    assert run["wue_l_per_kwh"] == 2.5 and run["wue_source"] == "--wue"
    assert run["water_kl"] == pytest.approx(run["gpu_energy_mwh"] * 1.2 * 2.5)


@pytest.mark.parametrize("value", ["-1", "1290", "nan"])
def test_bad_wue_is_one_line_exit_2(tmp_path, value):
    trace = constant_power_trace(tmp_path / "t.csv", 0.01, power_w=500.0)
    result = _report("--trace", trace, "--hardware", "jupiter", "--wue", value)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "--wue" in result.output


def _site(tmp_path, extra: dict):
    data = {"gpu_type": "site GPU", "accelerator": "H100", "vendor": "nvidia", "devices_per_node": 8,
            "devices_per_package": 1, "package_tdp_w": 700, "package_idle_w": 70, "pue": 1.3,
            "intensity_location_kg_per_kwh": 0.3, **extra}
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_profile_yaml_with_water_but_no_source_is_one_line_exit_2(tmp_path):
    trace = constant_power_trace(tmp_path / "t.csv", 0.01, power_w=500.0)
    site = _site(tmp_path, {"wue_onsite_l_per_kwh": 0.2, "wue_offsite_l_per_kwh": 1.0})
    result = _report("--trace", trace, "--hardware", site)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "has no source" in result.output


def test_profile_yaml_with_cited_water_is_used(tmp_path):
    trace = constant_power_trace(tmp_path / "t.csv", 0.01, power_w=500.0)
    cited = {"wue_onsite_l_per_kwh": "our facility's 2025 report", "wue_offsite_l_per_kwh": "WRI 2020"}
    site = _site(tmp_path, {"wue_onsite_l_per_kwh": 0.2, "wue_offsite_l_per_kwh": 1.0, "sources": cited})
    account = account_trace(trace, hardware=str(site))
    assert account.holistic.water.wue_l_per_kwh == pytest.approx(1.2)
    assert "our facility's 2025 report" in account.holistic.water.source


@pytest.mark.parametrize("extra, says", [
    ({"wue_onsite_l_per_kwh": 0.2, "sources": {"wue_onsite_l_per_kwh": "x"}}, "other half"),
    ({"wue_l_per_kwh": -0.5, "sources": {"wue_l_per_kwh": "x"}}, "not in [0, 100]"),
    ({"embodied_kg_per_device_hour": 13, "sources": {"embodied_kg_per_device_hour": "x"}}, "not in [0, 1]"),
    ({"non_gpu_overhead": 0.74, "sources": {"non_gpu_overhead": "x"}}, "not in [1, 5]"),
])
def test_implausible_holistic_factors_are_refused(tmp_path, extra, says):
    trace = constant_power_trace(tmp_path / "t.csv", 0.01, power_w=500.0)
    result = _report("--trace", trace, "--hardware", _site(tmp_path, extra))
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert says in result.output


def test_rapl_cpu_energy_gives_a_measured_lower_bound(tmp_path):
    time_s = 1.7e9 + np.arange(0.0, 101.0, 1.0)
    devices = (("0", "gpu", 300.0), ("1", "gpu", 300.0), ("package-0", "cpu", 100.0))
    rows = [pd.DataFrame({"time_s": time_s, "device": name, "domain": domain, "power_w": power_w})
            for name, domain, power_w in devices]
    path = tmp_path / "rapl.csv"
    pd.concat(rows).to_csv(path, index=False)
    account = account_trace(path, hardware="jupiter")
    assert account.gpu_energy_mwh == pytest.approx(600.0 * 100 / 3.6e9)
    assert account.holistic.all_hardware_energy_mwh == pytest.approx(700.0 * 100 / 3.6e9)
    assert "lower bound" in account.holistic.all_hardware_basis  # not the 1.74x estimate
