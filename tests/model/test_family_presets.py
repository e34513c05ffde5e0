"""OLMo 1, 2 and 3 presets: the released parameter counts (shapes only), and configs that cannot be built."""

import pytest
import torch

from olmo_green.errors import ConfigError
from olmo_green.model.config import FULL, SLIDING, OLMoConfig
from olmo_green.model.olmo import OLMo

# OLMo 2 and 3: safetensors totals of the released checkpoints on the Hugging Face hub
PUBLISHED = {
    "olmo-1b": 1_176_764_416,  # OLMo v1, its published count
    "olmo-7b": 6_888_095_744,  # OLMo v1, its published count
    "olmo2-1b": 1_484_916_736,  # allenai/OLMo-2-0425-1B
    "olmo2-7b": 7_298_617_344,  # allenai/OLMo-2-1124-7B
    "olmo2-13b": 13_716_198_400,  # allenai/OLMo-2-1124-13B
    "olmo2-32b": 32_234_279_936,  # allenai/OLMo-2-0325-32B
    "olmo3-7b": 7_298_011_136,  # allenai/Olmo-3-1025-7B (100,278 embedding rows)
    "olmo3-32b": 32_233_522_176,  # allenai/Olmo-3-1125-32B
}


@pytest.mark.parametrize("preset", sorted(PUBLISHED))
def test_preset_parameter_count_equals_the_released_model(preset):
    with torch.device("meta"):  # shapes only: a 32B model costs nothing here
        model = OLMo.from_preset(preset, init=False)
    assert model.num_params() == PUBLISHED[preset]
    assert OLMoConfig.from_preset(preset).num_params() == PUBLISHED[preset]


def test_olmo3_presets_have_three_sliding_layers_to_one_full_ending_full():
    for preset, n_layers in (("olmo3-7b", 32), ("olmo3-32b", 64)):
        config = OLMoConfig.from_preset(preset)
        assert config.layer_types == [SLIDING, SLIDING, SLIDING, FULL] * (n_layers // 4)
        assert config.sliding_window == 4096 and config.window(0) == 4096 and config.window(3) is None


def test_32b_presets_use_grouped_query_attention():
    for preset in ("olmo2-32b", "olmo3-32b"):
        config = OLMoConfig.from_preset(preset)
        assert (config.n_heads, config.kv_heads) == (40, 8)


@pytest.mark.parametrize("preset", ["olmo2-tiny", "olmo3-tiny"])
def test_cpu_presets_are_cpu_sized_and_run(preset):
    model = OLMo.from_preset(preset)
    assert model.num_params() < 2_000_000
    assert model(torch.randint(0, 257, (2, 100))).shape == (2, 100, 384)


def test_olmo2_init_is_normal_002_and_norms_start_at_one():
    torch.manual_seed(0)
    model = OLMo.from_preset("olmo2-tiny")
    weight = model.transformer.blocks[0].ff_proj.weight
    assert weight.abs().max() <= 0.06 + 1e-7 and 0.015 < weight.std() < 0.02  # N(0, 0.02) cut at 3 sigma
    assert torch.equal(model.transformer.blocks[0].q_norm.weight, torch.ones(128))


BASE = dict(d_model=64, n_heads=4, n_layers=4, mlp_hidden_size=128, vocab_size=50, embedding_size=64,
            max_sequence_length=32, weight_tying=False, eos_token_id=0, pad_token_id=0)


@pytest.mark.parametrize("overrides,field", [
    (dict(family="olmo4"), "model.family"),
    (dict(family="olmo2", clip_qkv=8.0), "model.clip_qkv"),
    (dict(n_kv_heads=2), "model.n_kv_heads"),  # v1 has no GQA
    (dict(family="olmo2", n_kv_heads=3), "model.n_kv_heads"),
    (dict(family="olmo2", sliding_window=8), "model.sliding_window"),
    (dict(family="olmo3", sliding_window=8, layer_types=[SLIDING] * 3), "model.layer_types"),
    (dict(family="olmo3", layer_types=[SLIDING] * 4), "model.sliding_window"),
    (dict(family="olmo3", sliding_window=8, layer_types=["global"] * 4), "model.layer_types"),
])
def test_inconsistent_configs_are_refused_naming_the_field(overrides, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        OLMoConfig(**{**BASE, **overrides})
