"""FLOPs per token with sliding windows, and estimates against the OLMo 2 published runs."""

import dataclasses

import pytest
import yaml
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.hardware import load_profile
from olmo_green.hardware.profiles import HOLISTIC_KEYS
from olmo_green.model.config import OLMoConfig
from olmo_green.model.metrics import flops_per_token
from olmo_green.reports.estimate import estimate, training_flops_per_token


def test_olmo_v1_flops_are_unchanged():
    config = OLMoConfig.from_preset("olmo-7b")
    assert flops_per_token(config, 2048) == 6 * (6_888_095_744 - 50304 * 4096) + 12 * 32 * 4096 * 2048


def test_olmo2_flops_count_matmuls_not_norm_weights():
    config = OLMoConfig.from_preset("olmo2-7b")
    norms = 32 * 4 * 4096 + 4096  # attn, ff, q, k norms per block, and the final norm
    matmul = 7_298_617_344 - 100352 * 4096 - norms  # all but the embedding lookup and the norms
    assert training_flops_per_token(config) == 6 * matmul + 12 * 32 * 4096 * 4096


def test_sliding_layers_count_their_window_not_the_sequence():
    config = OLMoConfig.from_preset("olmo3-7b")  # 24 layers of window 4096, 8 full, 8192 tokens
    full = OLMoConfig(**{**config.to_dict(), "layer_types": ["full_attention"] * 32})
    attention_saved = 12 * 4096 * 24 * (8192 - 4096)
    assert flops_per_token(full, 8192) - flops_per_token(config, 8192) == attention_saved
    # a sequence no longer than the window: sliding layers cost what full ones do
    assert flops_per_token(config, 4096) == flops_per_token(full, 4096)


def test_window_in_the_trainers_mfu_formula_uses_the_training_sequence():
    config = OLMoConfig.from_preset("olmo3-tiny")  # window 64
    # only its one full layer (of four) sees more keys at 256 tokens than at 64
    assert flops_per_token(config, 256) - flops_per_token(config, 64) == 12 * 128 * (256 - 64)


def test_estimate_olmo2_7b_for_4t_tokens_runs():
    result = CliRunner().invoke(cli, ["estimate", "--model", "olmo2-7b", "--tokens", "4e12",
                                      "--hardware", "h100"])
    assert result.exit_code == 0, result.output
    assert "| h100 |" in result.output


def test_estimate_prints_the_deviation_from_olmo2_published_energy(tmp_path):
    # A stand-in profile named after the cluster, with the generic H100's values, so that the
    # published row (olmo2-7b, jupiter) is found; the real jupiter profile carries its own sources.
    h100 = dataclasses.asdict(load_profile("h100"))
    h100["sources"] = {k: v for k, v in h100["sources"].items() if k in HOLISTIC_KEYS}  # must be cited
    path = tmp_path / "jupiter.yaml"
    path.write_text(yaml.safe_dump({**h100, "name": "jupiter", "sensors": list(h100["sensors"])}))
    e = estimate("olmo2-7b", 4e12, str(path))
    assert e.published is not None and e.published.gpu_energy_mwh == 131
    assert e.deviation_from_published == pytest.approx(e.gpu_energy_mwh / 131 - 1.0)
    result = CliRunner().invoke(cli, ["estimate", "--model", "olmo2-7b", "--tokens", "4e12",
                                      "--hardware", str(path)])
    assert result.exit_code == 0, result.output
    assert "vs 131 MWh" in result.output and "Table 19" in result.output


def test_olmo2_13b_published_row_is_scaled_to_the_tokens(tmp_path):
    h100 = dataclasses.asdict(load_profile("h100"))
    h100["sources"] = {k: v for k, v in h100["sources"].items() if k in HOLISTIC_KEYS}  # must be cited
    path = tmp_path / "augusta.yaml"
    path.write_text(yaml.safe_dump({**h100, "name": "augusta", "sensors": list(h100["sensors"])}))
    e = estimate("olmo2-13b", 2.8e12, str(path))  # half the published 5.6T tokens
    assert e.published_scaled_mwh == pytest.approx(257 / 2)
