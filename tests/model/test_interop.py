"""Checkpoint interop: exact round trips in both formats, native OLMo configs, clear errors."""

import json

import pytest
import torch
import yaml

from olmo_green.errors import ConfigError, InputFileError
from olmo_green.model.config import OLMoConfig
from olmo_green.model.olmo import OLMo

SMALL = dict(d_model=96, n_heads=3, n_layers=2, mlp_hidden_size=160, vocab_size=97,
             embedding_size=128, max_sequence_length=64, eos_token_id=96, pad_token_id=1)


def small_model(**overrides) -> OLMo:
    torch.manual_seed(0)
    return OLMo(OLMoConfig(**{**SMALL, "weight_tying": True, **overrides}))


def assert_same_weights(a: OLMo, b: OLMo) -> None:
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    for name in state_a:
        assert state_a[name].dtype == state_b[name].dtype, name
        assert torch.equal(state_a[name], state_b[name]), name


@pytest.mark.parametrize("fmt", ["hf", "olmo"])
@pytest.mark.parametrize("overrides", [{}, {"weight_tying": False, "clip_qkv": 8.0, "rope_theta": 500.0}],
                         ids=["tied", "untied-clip"])
def test_round_trip_is_exact(fmt, overrides, tmp_path):
    model = small_model(**overrides)
    model.save_pretrained(tmp_path, format=fmt)
    loaded = OLMo.from_pretrained(tmp_path)
    assert loaded.config == model.config  # vocab_size survives the HF format too
    assert_same_weights(model, loaded)
    ids = torch.randint(0, SMALL["vocab_size"], (1, 9))
    assert torch.equal(model(ids), loaded(ids))


@pytest.mark.parametrize("fmt", ["hf", "olmo"])
def test_round_trip_keeps_bfloat16_and_dtype_casts(fmt, tmp_path):
    model = small_model().to(torch.bfloat16)
    model.save_pretrained(tmp_path, format=fmt)
    assert_same_weights(model, OLMo.from_pretrained(tmp_path))
    as_fp32 = OLMo.from_pretrained(tmp_path, dtype=torch.float32)
    assert as_fp32.transformer.wte.weight.dtype == torch.float32
    assert torch.equal(as_fp32.transformer.wte.weight, model.transformer.wte.weight.float())


def test_native_checkpoint_uses_olmo_names_and_loads_weights_only(tmp_path):
    small_model(weight_tying=False).save_pretrained(tmp_path, format="olmo")
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    assert "transformer.blocks.1.att_proj.weight" in state
    assert state["transformer.blocks.0.ff_proj.weight"].shape == (160, 96)
    assert "transformer.ff_out.weight" in state
    section = yaml.safe_load((tmp_path / "config.yaml").read_text())["model"]
    assert section["embedding_size"] == 128 and section["rope"] is True


def test_hf_config_names_embedding_rows_vocab_size(tmp_path):
    small_model(clip_qkv=4.0).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "olmo" and config["architectures"] == ["OlmoForCausalLM"]
    assert config["vocab_size"] == 128 and config["olmo_green_vocab_size"] == 97
    assert config["intermediate_size"] == 80 and config["clip_qkv"] == 4.0
    assert config["tie_word_embeddings"] is True and config["rope_theta"] == 10_000.0
    assert (config["eos_token_id"], config["pad_token_id"]) == (96, 1)


def test_hf_config_without_our_vocab_key_uses_the_embedding_size(tmp_path):
    small_model().save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    del config["olmo_green_vocab_size"], config["rope_parameters"]  # as allenai/OLMo-1B-hf ships
    (tmp_path / "config.json").write_text(json.dumps(config))
    loaded = OLMo.from_pretrained(tmp_path)
    assert loaded.config.vocab_size == loaded.config.embedding_size == 128


def official_style_section(**overrides) -> dict:
    """A `model:` section shaped like allenai/OLMo configs/official/OLMo-1B.yaml, scaled down."""
    section = dict(d_model=64, n_heads=4, n_layers=2, mlp_ratio=8, weight_tying=True, alibi=False,
                   rope=True, flash_attention=True, attention_dropout=0.0, attention_layer_norm=False,
                   multi_query_attention=False, include_bias=False, block_type="sequential",
                   layer_norm_type="default", layer_norm_with_affine=False, bias_for_layer_norm=False,
                   attention_layer_norm_with_affine=False, activation_type="swiglu",
                   residual_dropout=0.0, embedding_dropout=0.0, max_sequence_length=128,
                   vocab_size=50, embedding_size=64, eos_token_id=49, pad_token_id=1,
                   init_device="meta", init_fn="mitchell")
    return {**section, **overrides}


def write_native(path, section: dict, state: dict) -> None:
    path.mkdir(exist_ok=True)
    (path / "config.yaml").write_text(yaml.safe_dump({"run_name": "x", "model": section}))
    torch.save(state, path / "model.pt")


def test_official_style_native_config_loads(tmp_path):
    config = OLMoConfig(d_model=64, n_heads=4, n_layers=2, mlp_hidden_size=512, vocab_size=50,
                        embedding_size=64, max_sequence_length=128, weight_tying=True,
                        eos_token_id=49, pad_token_id=1)
    model = OLMo(config)
    write_native(tmp_path, official_style_section(), model.state_dict())
    loaded = OLMo.from_pretrained(tmp_path)
    assert loaded.config == config  # mlp_ratio 8 x d_model 64 = 512
    assert_same_weights(model, loaded)


@pytest.mark.parametrize("option,value", [("alibi", True), ("include_bias", True),
                                          ("layer_norm_with_affine", True), ("block_type", "parallel"),
                                          ("layer_norm_type", "rms")])
def test_native_config_beyond_olmo_v1_is_refused_by_name(option, value, tmp_path):
    write_native(tmp_path, official_style_section(**{option: value}), {})
    with pytest.raises(InputFileError, match=option):
        OLMo.from_pretrained(tmp_path)


@pytest.mark.parametrize("files,missing", [
    ([], "config.json"),
    (["config.json"], "model.safetensors"),
    (["model.pt"], "config.yaml"),
    (["config.yaml"], "model.pt"),
    (["pytorch_model.bin", "README.md"], "config.json"),
])
def test_not_a_checkpoint_names_what_is_missing(files, missing, tmp_path):
    for name in files:
        (tmp_path / name).write_text("{}")
    with pytest.raises(InputFileError, match=missing):
        OLMo.from_pretrained(tmp_path)


def test_missing_directory_is_an_input_error(tmp_path):
    with pytest.raises(InputFileError, match="not a directory"):
        OLMo.from_pretrained(tmp_path / "nowhere")


def test_other_model_type_is_refused(tmp_path):
    small_model().save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "model_type": "llama"}))
    with pytest.raises(InputFileError, match="llama"):
        OLMo.from_pretrained(tmp_path)


def test_weights_that_do_not_fit_the_config_are_refused(tmp_path):
    small_model().save_pretrained(tmp_path, format="olmo")
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    del state["transformer.blocks.1.ff_out.weight"]
    torch.save(state, tmp_path / "model.pt")
    with pytest.raises(InputFileError, match="blocks.1.ff_out"):
        OLMo.from_pretrained(tmp_path)


def test_unknown_save_format_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="format"):
        small_model().save_pretrained(tmp_path, format="gguf")


def published_hf_config(hidden: int, intermediate: int, heads: int, layers: int, tied: bool) -> dict:
    """The fields of allenai/OLMo-{1B,7B}-hf config.json (transformers 4.40 era: top-level rope_theta)."""
    return {"architectures": ["OlmoForCausalLM"], "model_type": "olmo", "attention_bias": False,
            "attention_dropout": 0.0, "bos_token_id": None, "clip_qkv": None, "eos_token_id": 50279,
            "hidden_act": "silu", "hidden_size": hidden, "initializer_range": 0.02,
            "intermediate_size": intermediate, "max_position_embeddings": 2048,
            "num_attention_heads": heads, "num_hidden_layers": layers, "num_key_value_heads": heads,
            "pad_token_id": 1, "rope_scaling": None, "rope_theta": 10000.0, "tie_word_embeddings": tied,
            "torch_dtype": "float32", "use_cache": True, "vocab_size": 50304}


@pytest.mark.parametrize("preset,published", [
    ("olmo-1b", published_hf_config(2048, 8192, 16, 16, tied=True)),
    ("olmo-7b", published_hf_config(4096, 11008, 32, 32, tied=False)),
])
def test_published_hf_configs_map_to_our_presets(preset, published):
    from olmo_green.model.interop import config_from_hf, config_to_hf

    config = config_from_hf(published)
    expected = OLMoConfig.from_preset(preset)
    # config.json does not hold the tokenizer's 50280: only the embedding size
    assert config == OLMoConfig(**{**expected.to_dict(), "vocab_size": expected.embedding_size})
    written = config_to_hf(expected)
    assert {k: written[k] for k in published if k in written} == \
        {k: v for k, v in published.items() if k in written}
