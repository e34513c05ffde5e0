"""The what-if estimate: FLOPs, device-hours, energy, and its distance from the model card."""

import json

import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.errors import ConfigError
from olmo_green.reports import FIXED_KEYS
from olmo_green.reports.estimate import estimate, load_model_config, training_flops_per_token


def test_flops_per_token_is_6n_plus_attention_for_olmo_7b():
    config = load_model_config("olmo-7b")
    matmul = 6_888_095_744 - 50304 * 4096  # all weights but the input embedding lookup
    attention = 12 * 32 * 4096 * 2048
    assert training_flops_per_token(config) == 6 * matmul + attention


def test_olmo_7b_on_mosaicml_a100_lands_within_25_percent_of_104_mwh():
    e = estimate("olmo-7b", 2.46e12, "mosaicml-a100")
    assert e.gpu_energy_mwh == pytest.approx(104.0, rel=0.25)
    assert e.deviation_from_published == pytest.approx(e.gpu_energy_mwh / 104.0 - 1.0)
    assert e.emissions_tco2eq == pytest.approx(e.gpu_energy_mwh * 1.1 * 0.656)


def test_energy_scales_inversely_with_mfu():
    low, high = estimate("olmo-7b", 1e12, "h100", mfu=0.25), estimate("olmo-7b", 1e12, "h100", mfu=0.5)
    assert low.gpu_energy_mwh == pytest.approx(2 * high.gpu_energy_mwh)


def test_mi250x_power_is_shared_by_its_two_gcds():
    assert estimate("olmo-1b", 1e9, "lumi").power_per_device_w == 280.0


def test_bad_mfu_is_refused():
    with pytest.raises(ConfigError, match="mfu"):
        estimate("olmo-7b", 1e12, "h100", mfu=47)


def test_estimate_command_prints_distance_from_the_published_figure():
    result = CliRunner().invoke(cli, ["estimate", "--model", "olmo-7b", "--tokens", "2.46e12",
                                      "--hardware", "mosaicml-a100", "--hardware", "lumi"])
    assert result.exit_code == 0, result.output
    assert "below it" in result.output and "vs 104 MWh" in result.output
    assert "| lumi |" in result.output


def test_estimate_json_has_the_fixed_keys_side_by_side():
    args = ["--model", "olmo-7b", "--tokens", "1e12", "--hardware", "h100", "--hardware", "mosaicml-a100"]
    result = CliRunner().invoke(cli, ["estimate", *args, "--format", "json"])
    runs = json.loads(result.output)["runs"]
    assert [r["hardware"] for r in runs] == ["h100", "mosaicml-a100"]
    assert all(set(FIXED_KEYS) <= set(r) and r["method"] == "modelled" for r in runs)
    assert runs[0]["emissions_tco2eq"] is None  # no intensity known for a generic H100: not invented


def test_unknown_model_is_one_line_exit_2():
    result = CliRunner().invoke(cli, ["estimate", "--model", "nope", "--tokens", "1e9", "--hardware", "lumi"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
