"""The estimate's water and embodied carbon, and its MI250X efficiency grounded in a published figure."""

import json

import pytest
from click.testing import CliRunner

from olmo_green.carbon import CarbonOptions
from olmo_green.cli import cli
from olmo_green.reports.estimate import estimate


def test_olmo_7b_on_lumi_lands_within_35_percent_of_the_twins_135_mwh():
    e = estimate("olmo-7b", 2e12, "lumi")
    assert "arXiv 2312.12705" in e.mfu_source  # an MI250X LLM-training figure, not the H100 one
    assert e.mfu == pytest.approx(0.3614)
    assert e.published.gpu_energy_mwh == 135
    assert abs(e.deviation_from_published) <= 0.35


def test_olmo2_7b_on_jupiter_prints_its_deviation_from_the_published_131_mwh():
    args = ["estimate", "--model", "olmo2-7b", "--tokens", "4e12", "--hardware", "jupiter"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    e = estimate("olmo2-7b", 4e12, "jupiter")
    assert f"{e.deviation_from_published:+.1%} vs 131 MWh" in result.output
    assert "- Water: " in result.output and "- Embodied carbon" in result.output


def test_estimate_json_gives_water_and_embodied_from_the_profile():
    args = ["estimate", "--model", "olmo2-7b", "--tokens", "4e12", "--hardware", "jupiter",
            "--hardware", "lumi", "--format", "json"]
    jupiter, lumi = json.loads(CliRunner().invoke(cli, args).output)["runs"]
    assert jupiter["water_kl"] == pytest.approx(jupiter["gpu_energy_mwh"] * 1.2 * 1.29)
    assert jupiter["embodied_tco2eq"] == pytest.approx(jupiter["device_hours"] * 0.013 / 1000)
    assert jupiter["emissions_tco2eq"] == pytest.approx(jupiter["gpu_energy_mwh"] * 1.2 * 0.332)
    assert lumi["water_kl"] is None and lumi["embodied_tco2eq"] is None  # not published: not invented


def test_estimate_wue_flag_and_its_check():
    e = estimate("olmo-1b", 1e9, "lumi", carbon=CarbonOptions(wue=2.0))
    assert e.holistic.water_kl == pytest.approx(e.gpu_energy_mwh * 1.1 * 2.0)
    result = CliRunner().invoke(cli, ["estimate", "--model", "olmo-1b", "--tokens", "1e9",
                                      "--hardware", "lumi", "--wue", "-3"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
