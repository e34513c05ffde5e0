"""OLMo 2 and 3 checkpoints: exact round trips, released configs, refusals that name the option."""

import json

import pytest
import torch
import yaml
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.errors import InputFileError
from olmo_green.model.config import OLMoConfig
from olmo_green.model.interop import config_from_hf, config_from_native
from olmo_green.model.olmo import OLMo

SMALL = dict(d_model=64, n_heads=4, n_layers=4, mlp_hidden_size=176, vocab_size=97, embedding_size=128,
             max_sequence_length=64, eos_token_id=96, pad_token_id=1, weight_tying=False,
             rope_theta=500_000.0, layer_norm_eps=1e-6)
VARIANTS = {
    "olmo2": dict(family="olmo2"),
    "olmo2-gqa-tied": dict(family="olmo2", n_kv_heads=2, weight_tying=True),
    "olmo3": dict(family="olmo3", n_kv_heads=2, sliding_window=8,
                  layer_types=["sliding_attention", "full_attention", "sliding_attention", "full_attention"]),
}


def model_of(variant: str) -> OLMo:
    torch.manual_seed(0)
    model = OLMo(OLMoConfig(**{**SMALL, **VARIANTS[variant]}))
    with torch.no_grad():  # norm weights away from their init of 1, so a dropped one would show
        for p in model.parameters():
            if p.dim() == 1:
                p.add_(0.1 * torch.randn_like(p))
    return model


def assert_same(a: OLMo, b: OLMo) -> None:
    assert a.config == b.config
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    for name in state_a:
        assert state_a[name].dtype == state_b[name].dtype and torch.equal(state_a[name], state_b[name]), name


def edit_config(path, **changes) -> None:
    config = json.loads((path / "config.json").read_text())
    config.update(changes)
    (path / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize("fmt", ["hf", "olmo"])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_round_trip_is_exact(variant, fmt, tmp_path):
    model = model_of(variant)
    model.save_pretrained(tmp_path, format=fmt)
    loaded = OLMo.from_pretrained(tmp_path)
    assert_same(model, loaded)
    ids = torch.randint(0, SMALL["vocab_size"], (1, 20))
    assert torch.equal(model(ids), loaded(ids))


def test_round_trip_keeps_bfloat16(tmp_path):
    model = model_of("olmo3").to(torch.bfloat16)
    model.save_pretrained(tmp_path)
    assert_same(model, OLMo.from_pretrained(tmp_path))


def test_hf_config_uses_transformers_fields(tmp_path):
    model_of("olmo3").save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert (config["model_type"], config["architectures"]) == ("olmo3", ["Olmo3ForCausalLM"])
    assert (config["num_key_value_heads"], config["rms_norm_eps"], config["sliding_window"]) == (2, 1e-6, 8)
    assert config["layer_types"] == VARIANTS["olmo3"]["layer_types"]
    assert config["rope_parameters"]["full_attention"] == {"rope_type": "default", "rope_theta": 500_000.0}


@pytest.mark.parametrize("variant", ["olmo2", "olmo3"])
def test_convert_round_trip_through_both_formats_is_exact(variant, tmp_path):
    model = model_of(variant)
    model.save_pretrained(tmp_path / "hf")
    runner = CliRunner()
    first = runner.invoke(cli, ["convert", "hf-to-olmo", str(tmp_path / "hf"), str(tmp_path / "native")])
    assert first.exit_code == 0, first.output
    second = runner.invoke(cli, ["convert", "olmo-to-hf", str(tmp_path / "native"), str(tmp_path / "back")])
    assert second.exit_code == 0, second.output
    assert_same(model, OLMo.from_pretrained(tmp_path / "back"))


# --- released configurations ------------------------------------------------------------


def olmo2_7b_hf_config() -> dict:
    """The fields of allenai/OLMo-2-1124-7B config.json (transformers 4.47 era: top-level rope_theta)."""
    return {"architectures": ["Olmo2ForCausalLM"], "model_type": "olmo2", "attention_bias": False,
            "attention_dropout": 0.0, "eos_token_id": 100257, "hidden_act": "silu", "hidden_size": 4096,
            "initializer_range": 0.02, "intermediate_size": 11008, "max_position_embeddings": 4096,
            "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32,
            "pad_token_id": 100277, "rms_norm_eps": 1e-06, "rope_scaling": None, "rope_theta": 500000,
            "tie_word_embeddings": False, "torch_dtype": "float32", "use_cache": True, "vocab_size": 100352}


def olmo3_7b_hf_config() -> dict:
    """Shaped like allenai/Olmo-3-1025-7B config.json: OLMo 3 7B after its long-context extension,
    YaRN on the full-attention layers (factor 8 from 8,192 to 65,536 positions)."""
    layer_types = ["full_attention" if (i + 1) % 4 == 0 else "sliding_attention" for i in range(32)]
    return {**olmo2_7b_hf_config(), "architectures": ["Olmo3ForCausalLM"], "model_type": "olmo3",
            "layer_types": layer_types, "sliding_window": 4096, "max_position_embeddings": 65536,
            "vocab_size": 100278,
            "rope_scaling": {"rope_type": "yarn", "factor": 8.0, "original_max_position_embeddings": 8192,
                             "attention_factor": 1.2079441541679836, "beta_fast": 32, "beta_slow": 1}}


def test_released_olmo2_config_maps_to_the_preset():
    expected = OLMoConfig.from_preset("olmo2-7b")
    # config.json holds the embedding rows, not the tokenizer's 100,278
    assert config_from_hf(olmo2_7b_hf_config()) == \
        OLMoConfig(**{**expected.to_dict(), "vocab_size": expected.embedding_size})


def test_released_olmo3_config_is_refused_for_its_rope_scaling():
    with pytest.raises(InputFileError, match="rope_scaling.*yarn"):
        config_from_hf(olmo3_7b_hf_config())


def test_olmo3_config_before_the_context_extension_maps_to_the_preset():
    pretraining = {**olmo3_7b_hf_config(), "rope_scaling": None, "max_position_embeddings": 8192}
    assert config_from_hf(pretraining) == OLMoConfig.from_preset("olmo3-7b")


def olmo2_native_section(**overrides) -> dict:
    """The `model:` section of allenai/OLMo configs/official-1124/OLMo2-7B-stage1.yaml."""
    section = dict(d_model=4096, n_heads=32, n_layers=32, mlp_hidden_size=22016, weight_tying=False,
                   alibi=False, rope=True, rope_theta=500000, flash_attention=True, attention_dropout=0.0,
                   include_bias=False, block_type="sequential", layer_norm_type="rms",
                   layer_norm_with_affine=True, layer_norm_eps="1e-6", bias_for_layer_norm=False,
                   attention_layer_norm=True, attention_layer_norm_with_affine=True, norm_after=True,
                   activation_type="swiglu", residual_dropout=0.0, embedding_dropout=0.0,
                   max_sequence_length=4096, vocab_size=100278, embedding_size=100352, eos_token_id=100257,
                   pad_token_id=100277, init_device="meta", init_fn="normal", init_std=0.02,
                   init_cutoff_factor=3)
    return {**section, **overrides}


def test_official_olmo2_native_config_maps_to_the_preset():
    # "1e-6" is a string as PyYAML reads the official file (YAML 1.1 wants a dot)
    assert config_from_native({"model": olmo2_native_section()}) == OLMoConfig.from_preset("olmo2-7b")


@pytest.mark.parametrize("option,value", [("layer_norm_type", "default"), ("attention_layer_norm", False),
                                          ("layer_norm_with_affine", False), ("clip_qkv", 8.0)])
def test_native_norm_after_config_that_is_not_olmo2_is_refused_by_name(option, value):
    with pytest.raises(InputFileError, match=option):
        config_from_native({"model": olmo2_native_section(**{option: value})})


# --- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize("variant,changes,option", [
    ("olmo2", {"rope_scaling": {"rope_type": "linear", "factor": 2.0}}, "rope_scaling"),
    ("olmo2", {"rope_parameters": {"rope_type": "dynamic", "factor": 2.0, "rope_theta": 1e4}},
     "rope_parameters.rope_type"),
    ("olmo3", {"rope_parameters": {"full_attention": {"rope_type": "yarn", "factor": 8.0},
                                   "sliding_attention": {"rope_type": "default"}}},
     "rope_parameters.full_attention.rope_type"),
    ("olmo2", {"attention_bias": True}, "attention_bias"),
    ("olmo3", {"mlp_bias": True}, "mlp_bias"),
    ("olmo2", {"num_experts": 64, "num_experts_per_tok": 8}, "num_experts"),
    ("olmo2", {"model_type": "olmoe"}, "olmoe"),
    ("olmo2", {"head_dim": 32}, "head_dim"),
    ("olmo2", {"hidden_act": "gelu"}, "hidden_act"),
    ("olmo3", {"layer_types": ["chunked_attention"] * 4}, "layer_types"),
    ("olmo3", {"sliding_window": None}, "sliding_window"),
])
def test_unsupported_hf_variant_is_refused_naming_the_option(variant, changes, option, tmp_path):
    model_of(variant).save_pretrained(tmp_path)
    edit_config(tmp_path, **changes)
    with pytest.raises(InputFileError, match=option):
        OLMo.from_pretrained(tmp_path)


def test_unsupported_variant_is_one_line_from_convert(tmp_path):
    model_of("olmo3").save_pretrained(tmp_path / "hf")
    edit_config(tmp_path / "hf", rope_scaling={"rope_type": "yarn", "factor": 8.0})
    result = CliRunner().invoke(cli, ["convert", "hf-to-olmo", str(tmp_path / "hf"), str(tmp_path / "out")])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and "rope_scaling" in lines[0]
    assert not (tmp_path / "out").exists()


def test_hf_tensor_of_the_wrong_shape_is_one_line_naming_it(tmp_path):
    from safetensors.torch import load_file, save_file

    model_of("olmo3").save_pretrained(tmp_path / "hf")
    tensors = load_file(str(tmp_path / "hf" / "model.safetensors"))
    tensors["model.layers.1.self_attn.k_proj.weight"] = torch.zeros(64, 64)  # GQA: should be (32, 64)
    save_file(tensors, str(tmp_path / "hf" / "model.safetensors"), metadata={"format": "pt"})
    result = CliRunner().invoke(cli, ["convert", "hf-to-olmo", str(tmp_path / "hf"), str(tmp_path / "out")])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert "model.layers.1.self_attn.k_proj.weight" in lines[0] and "(32, 64)" in lines[0]


def test_native_tensor_of_the_wrong_shape_is_refused_naming_it(tmp_path):
    model_of("olmo2").save_pretrained(tmp_path, format="olmo")
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    state["transformer.blocks.0.k_norm.weight"] = torch.ones(32)
    torch.save(state, tmp_path / "model.pt")
    with pytest.raises(InputFileError, match=r"transformer\.blocks\.0\.k_norm\.weight has shape \(32,\)"):
        OLMo.from_pretrained(tmp_path)


def test_native_olmo3_sections_carry_the_window_keys(tmp_path):
    model_of("olmo3").save_pretrained(tmp_path, format="olmo")
    section = yaml.safe_load((tmp_path / "config.yaml").read_text())["model"]
    assert section["norm_after"] is True and section["layer_norm_type"] == "rms"
    assert (section["sliding_window"], section["n_kv_heads"]) == (8, 2)
