"""config.json <-> OLMoConfig for transformers' model types olmo, olmo2 and olmo3.

Field names and the defaults of absent fields are transformers' (OlmoConfig,
Olmo2Config, Olmo3Config). A config.json that asks for something model/olmo.py
does not compute (scaled RoPE, biases, mixture of experts, another head size,
dropout) is refused with the option's name, never loaded approximately.

Vocabulary vs embedding size: an HF config's `vocab_size` is the number of
embedding rows (50304 for OLMo v1), i.e. our `embedding_size`; the tokenizer's
real vocabulary (50280) is not in config.json. We write ours as an extra key,
`olmo_green_vocab_size`, which transformers keeps and ignores; a config without
it loads with vocab_size = embedding_size, which is safe (every id below it is
a valid row), only less strict about out-of-vocabulary ids.
"""

from __future__ import annotations

from olmo_green.errors import ConfigError, InputFileError
from olmo_green.model.config import FULL, SLIDING, OLMoConfig
from olmo_green.model.interop_common import make_config, require_value, required_field

HF_CONFIG = "config.json"
VOCAB_KEY = "olmo_green_vocab_size"
ARCHITECTURES = {"olmo": "OlmoForCausalLM", "olmo2": "Olmo2ForCausalLM", "olmo3": "Olmo3ForCausalLM"}
# transformers' OlmoLayerNorm hard-codes this eps, so an HF OLMo v1 checkpoint cannot carry another.
HF_LAYER_NORM_EPS = 1e-5
# RoPE theta when config.json names none: Olmo3Config.default_theta, else PreTrainedConfig's.
DEFAULT_THETA = {"olmo": 10_000.0, "olmo2": 10_000.0, "olmo3": 500_000.0}
OLMO3_DEFAULT_WINDOW = 4096  # Olmo3Config.sliding_window
# Keys by which other architectures' configs announce a mixture of experts (OLMoE, Mixtral, ...).
MOE_KEYS = ("num_experts", "num_local_experts", "n_routed_experts", "num_experts_per_tok")


# --- reading ---------------------------------------------------------------------


def config_from_hf(hf: dict) -> OLMoConfig:
    """OLMoConfig from an HF config.json's contents (legacy `rope_theta` or `rope_parameters`)."""
    family = hf.get("model_type")
    if family not in ARCHITECTURES:
        # "hf_olmo" is allenai/OLMo's own wrapper (e.g. the OLMo-1B repository without -hf);
        # "olmoe" is OLMo's mixture-of-experts model.
        raise InputFileError(f"config.json has model_type {family!r}: only transformers' "
                             f"{', '.join(ARCHITECTURES)} are read (allenai's v1: use the -hf repository)")
    _refuse_unsupported(hf, family)
    n_heads = required_field(hf, "num_attention_heads", HF_CONFIG)
    embedding_size = required_field(hf, "vocab_size", HF_CONFIG)
    values = dict(
        family=family,
        d_model=required_field(hf, "hidden_size", HF_CONFIG),
        n_heads=n_heads,
        n_layers=required_field(hf, "num_hidden_layers", HF_CONFIG),
        mlp_hidden_size=2 * required_field(hf, "intermediate_size", HF_CONFIG),  # HF counts one SwiGLU half
        vocab_size=hf.get(VOCAB_KEY, embedding_size),
        embedding_size=embedding_size,
        max_sequence_length=hf.get("max_position_embeddings", 2048),
        weight_tying=hf.get("tie_word_embeddings", False),  # transformers' default
        # Absent ids take transformers' defaults; a list of eos ids keeps the first.
        eos_token_id=_first(hf.get("eos_token_id", 50279)),
        pad_token_id=_first(hf.get("pad_token_id", 1)),
        rope_theta=_rope_theta(hf, family),
    )
    if family == "olmo":
        values["clip_qkv"] = hf.get("clip_qkv")
    else:
        kv_heads = hf.get("num_key_value_heads") or n_heads
        values.update(layer_norm_eps=float(hf.get("rms_norm_eps", 1e-5)),
                      n_kv_heads=None if kv_heads == n_heads else kv_heads)
    if family == "olmo3":
        values.update(_windows(hf, values["n_layers"]))
    return make_config(values, HF_CONFIG)


def _refuse_unsupported(hf: dict, family: str) -> None:
    for key in ("attention_bias", "mlp_bias"):
        require_value(hf, key, False, HF_CONFIG)
    require_value(hf, "hidden_act", "silu", HF_CONFIG)
    require_value(hf, "attention_dropout", 0.0, HF_CONFIG)
    for key in MOE_KEYS:
        if hf.get(key):
            raise InputFileError(f"config.json: {key} is {hf[key]!r}, a mixture-of-experts model; "
                                 "olmo-green implements dense OLMo only")
    hidden, heads = hf.get("hidden_size"), hf.get("num_attention_heads")
    if hf.get("head_dim") is not None and hidden and heads and hf["head_dim"] != hidden // heads:
        raise InputFileError(f"config.json: head_dim is {hf['head_dim']}, not hidden_size / "
                             f"num_attention_heads ({hidden // heads}): not supported")
    if family == "olmo":
        require_value(hf, "num_key_value_heads", heads, HF_CONFIG)
    else:
        require_value(hf, "clip_qkv", None, HF_CONFIG)


def _rope_theta(hf: dict, family: str) -> float:
    """The one RoPE theta of every layer; scaled RoPE of any kind is refused by its option name."""
    if hf.get("rope_scaling"):
        kind = hf["rope_scaling"].get("rope_type", hf["rope_scaling"].get("type"))
        raise InputFileError(f"config.json: rope_scaling asks for {kind!r} RoPE scaling, which "
                             "olmo-green does not implement (plain RoPE only)")
    params = hf.get("rope_parameters") or {}
    # transformers 5's Olmo3Config holds one set per layer type; the others hold one set
    per_type = {f"rope_parameters.{t}": p for t, p in params.items() if isinstance(p, dict)} \
        or {"rope_parameters": params}
    thetas = set()
    for option, p in per_type.items():
        kind = p.get("rope_type", p.get("type", "default"))
        if kind != "default":
            raise InputFileError(f"config.json: {option}.rope_type is {kind!r}; olmo-green implements "
                                 "plain RoPE ('default') only")
        if p.get("rope_theta") is not None:
            thetas.add(float(p["rope_theta"]))
    if len(thetas) > 1:
        raise InputFileError(f"config.json: rope_parameters has different rope_theta per layer type "
                             f"({sorted(thetas)}); olmo-green uses one for all layers")
    return thetas.pop() if thetas else float(hf.get("rope_theta") or DEFAULT_THETA[family])


def _windows(hf: dict, n_layers: int) -> dict:
    """OLMo 3's layer_types and sliding_window, with Olmo3Config's defaults when absent."""
    types = hf.get("layer_types")
    if types is None:  # Olmo3Config: every fourth layer full, the others sliding
        types = [SLIDING if (i + 1) % 4 else FULL for i in range(n_layers)]
    window = hf["sliding_window"] if "sliding_window" in hf else OLMO3_DEFAULT_WINDOW
    return dict(layer_types=list(types), sliding_window=window)


def _first(value):
    return value[0] if isinstance(value, list) and value else value


# --- writing ---------------------------------------------------------------------


def config_to_hf(config: OLMoConfig, dtype: str = "float32") -> dict:
    """An HF config.json for transformers' OlmoForCausalLM, Olmo2ForCausalLM or Olmo3ForCausalLM."""
    if config.family == "olmo":
        return _olmo_v1_to_hf(config, dtype)
    hf = {
        "architectures": [ARCHITECTURES[config.family]],
        "model_type": config.family,
        "num_key_value_heads": config.kv_heads,
        "hidden_act": "silu",
        "max_position_embeddings": config.max_sequence_length,
        "initializer_range": 0.02,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "rms_norm_eps": config.layer_norm_eps,
        **_shared_fields(config, dtype),
    }
    if config.family == "olmo3":
        hf["rope_parameters"] = {t: {"rope_type": "default", "rope_theta": config.rope_theta}
                                 for t in (SLIDING, FULL)}
        hf.update(sliding_window=config.sliding_window, layer_types=list(config.layer_types))
    return hf


def _shared_fields(config: OLMoConfig, dtype: str) -> dict:
    """The config.json fields every family writes alike."""
    return {
        "vocab_size": config.embedding_size,  # HF's vocab_size counts embedding rows
        VOCAB_KEY: config.vocab_size,
        "hidden_size": config.d_model,
        "intermediate_size": config.mlp_hidden_size // 2,
        "num_hidden_layers": config.n_layers,
        "num_attention_heads": config.n_heads,
        "tie_word_embeddings": config.weight_tying,
        # transformers < 5 reads rope_theta, 5 reads rope_parameters: write both.
        "rope_theta": config.rope_theta,
        "rope_parameters": {"rope_type": "default", "rope_theta": config.rope_theta},
        "bos_token_id": None,
        "eos_token_id": config.eos_token_id,
        "pad_token_id": config.pad_token_id,
        "use_cache": True,
        "torch_dtype": dtype,  # informative: transformers uses it only with dtype="auto"
    }


def _olmo_v1_to_hf(config: OLMoConfig, dtype: str) -> dict:
    """An HF config.json for OlmoForCausalLM; readable by transformers 4.40+ and 5."""
    if config.layer_norm_eps != HF_LAYER_NORM_EPS:
        raise ConfigError(f"model.layer_norm_eps is {config.layer_norm_eps}, but transformers' OLMo "
                          f"fixes it at {HF_LAYER_NORM_EPS}: this model has no Hugging Face equivalent")
    return {
        "architectures": ["OlmoForCausalLM"],
        "model_type": "olmo",
        "num_key_value_heads": config.n_heads,
        "hidden_act": "silu",
        "max_position_embeddings": config.max_sequence_length,
        "initializer_range": 0.02,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "clip_qkv": config.clip_qkv,
        **_shared_fields(config, dtype),
    }
