"""Hugging Face OLMo checkpoints: config.json mapping, tensor names, safetensors reading and sharded writing.

The format, as allenai/OLMo-1B-hf and OLMo-7B-hf ship it: `config.json`
(model_type "olmo") and `model.safetensors`, or shards listed in
`model.safetensors.index.json`; transformers' OlmoForCausalLM names, with
q/k/v and up/gate as separate matrices.

Name mapping, per block N (HF <- native):
    model.layers.N.self_attn.{q,k,v}_proj  <- att_proj split in three along the output
    model.layers.N.self_attn.o_proj        <- attn_out
    model.layers.N.mlp.up_proj             <- first half of ff_proj (OLMo's "x")
    model.layers.N.mlp.gate_proj           <- second half of ff_proj (through SiLU)
    model.layers.N.mlp.down_proj           <- ff_out
    model.embed_tokens / lm_head           <- transformer.wte / transformer.ff_out (untied only)

Vocabulary vs embedding size: an HF OLMo config's `vocab_size` is the number of
embedding rows (50304 for OLMo v1), i.e. our `embedding_size`; the tokenizer's
real vocabulary (50280) is not in config.json. We write ours as an extra key,
`olmo_green_vocab_size`, which transformers keeps and ignores; a config without
it loads with vocab_size = embedding_size, which is safe (every id below it is
a valid row), only less strict about out-of-vocabulary ids.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from olmo_green.errors import ConfigError, InputFileError
from olmo_green.model.config import OLMoConfig
from olmo_green.model.interop_common import make_config, require_value, required_field, some_names
from olmo_green.model.olmo import OLMo

HF_CONFIG = "config.json"
HF_WEIGHTS = "model.safetensors"
HF_INDEX = "model.safetensors.index.json"
HF_SHARD_GLOB = "model-*-of-*.safetensors"
VOCAB_KEY = "olmo_green_vocab_size"
MAX_SHARD_BYTES = 5 * 2**30  # transformers' default shard size

# transformers' OlmoLayerNorm hard-codes this eps, so an HF checkpoint cannot carry another.
HF_LAYER_NORM_EPS = 1e-5


# --- reading and writing --------------------------------------------------------


def read_hf(root: Path) -> tuple[OLMoConfig, dict[str, torch.Tensor]]:
    """The config and the state dict (our names) of an HF checkpoint directory."""
    config = config_from_hf(_read_json(root / HF_CONFIG))
    return config, state_dict_from_hf(_read_safetensors(root), config)


def save_hf(model: OLMo, path: str | os.PathLike, max_shard_bytes: int = MAX_SHARD_BYTES) -> None:
    """Write config.json and safetensors weights that transformers' OlmoForCausalLM loads.

    One model.safetensors up to max_shard_bytes, else shards with an index, as
    transformers writes them; a shard at a time keeps the serialisation buffer small.
    """
    from safetensors.torch import save_file

    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    for stale in [root / HF_WEIGHTS, root / HF_INDEX, *root.glob(HF_SHARD_GLOB)]:
        stale.unlink(missing_ok=True)  # an old single file or index would shadow what we write
    state = state_dict_to_hf(model.state_dict(), model.config)
    shards = _shard(state, max_shard_bytes)
    names = [HF_WEIGHTS] if len(shards) == 1 else \
        [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors" for i in range(len(shards))]
    for name, keys in zip(names, shards, strict=True):
        # safetensors refuses tensors that share storage, and q/k/v, up/gate are views: copy them.
        tensors = {k: state[k].detach().contiguous().clone() for k in keys}
        save_file(tensors, str(root / name), metadata={"format": "pt"})  # transformers checks "format"
    if len(shards) > 1:
        index = {"metadata": {"total_size": sum(_nbytes(t) for t in state.values())},
                 "weight_map": {k: name for name, keys in zip(names, shards, strict=True) for k in keys}}
        (root / HF_INDEX).write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    hf_config = config_to_hf(model.config, dtype_name(model))
    (root / HF_CONFIG).write_text(json.dumps(hf_config, indent=2) + "\n", encoding="utf-8")


def dtype_name(model: OLMo) -> str:
    """The parameters' dtype as config.json spells it ("float32", "bfloat16")."""
    return str(next(model.parameters()).dtype).removeprefix("torch.")


# --- configs -------------------------------------------------------------------


def config_from_hf(hf: dict) -> OLMoConfig:
    """OLMoConfig from an HF config.json's contents (legacy `rope_theta` or `rope_parameters`)."""
    if hf.get("model_type") != "olmo":
        # "hf_olmo" is allenai/OLMo's own wrapper (e.g. the OLMo-1B repository without -hf);
        # "olmo2" is OLMo 2, another architecture.
        raise InputFileError(f"config.json has model_type {hf.get('model_type')!r}, not 'olmo': only "
                             "transformers-format OLMo v1 is read (for allenai's, use the -hf repository)")
    require_value(hf, "num_key_value_heads", hf.get("num_attention_heads"), "config.json")
    require_value(hf, "attention_bias", False, "config.json")
    require_value(hf, "hidden_act", "silu", "config.json")
    rope = hf.get("rope_parameters") or {}
    if rope.get("rope_type", "default") != "default" or hf.get("rope_scaling"):
        raise InputFileError("config.json asks for scaled RoPE; OLMo v1 uses plain RoPE")
    embedding_size = required_field(hf, "vocab_size", HF_CONFIG)
    return make_config(dict(
        d_model=required_field(hf, "hidden_size", HF_CONFIG),
        n_heads=required_field(hf, "num_attention_heads", HF_CONFIG),
        n_layers=required_field(hf, "num_hidden_layers", HF_CONFIG),
        mlp_hidden_size=2 * required_field(hf, "intermediate_size", HF_CONFIG),  # HF counts one SwiGLU half
        vocab_size=hf.get(VOCAB_KEY, embedding_size),
        embedding_size=embedding_size,
        max_sequence_length=hf.get("max_position_embeddings", 2048),
        weight_tying=hf.get("tie_word_embeddings", False),  # transformers' OlmoConfig default
        # Absent ids take transformers' OlmoConfig defaults; a list of eos ids keeps the first.
        eos_token_id=_first(hf.get("eos_token_id", 50279)),
        pad_token_id=_first(hf.get("pad_token_id", 1)),
        rope_theta=float(rope.get("rope_theta", hf.get("rope_theta", 10_000.0))),
        clip_qkv=hf.get("clip_qkv"),
    ), "config.json")


def config_to_hf(config: OLMoConfig, dtype: str = "float32") -> dict:
    """An HF config.json for OlmoForCausalLM; readable by transformers 4.40+ and 5."""
    if config.layer_norm_eps != HF_LAYER_NORM_EPS:
        raise ConfigError(f"model.layer_norm_eps is {config.layer_norm_eps}, but transformers' OLMo "
                          f"fixes it at {HF_LAYER_NORM_EPS}: this model has no Hugging Face equivalent")
    return {
        "architectures": ["OlmoForCausalLM"],
        "model_type": "olmo",
        "vocab_size": config.embedding_size,  # HF's vocab_size counts embedding rows
        VOCAB_KEY: config.vocab_size,
        "hidden_size": config.d_model,
        "intermediate_size": config.mlp_hidden_size // 2,
        "num_hidden_layers": config.n_layers,
        "num_attention_heads": config.n_heads,
        "num_key_value_heads": config.n_heads,
        "hidden_act": "silu",
        "max_position_embeddings": config.max_sequence_length,
        "initializer_range": 0.02,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "clip_qkv": config.clip_qkv,
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


# --- state dicts ----------------------------------------------------------------


def state_dict_from_hf(hf: dict[str, torch.Tensor], config: OLMoConfig) -> dict[str, torch.Tensor]:
    """HF OlmoForCausalLM names -> ours (fused att_proj and ff_proj).

    Empties `hf` as it goes, so each separate q/k/v or up/gate matrix is freed once
    fused: a 7B model is not held twice.
    """
    state = {"transformer.wte.weight": _pop(hf, "model.embed_tokens.weight")}
    for i in range(config.n_layers):
        hf_block, block = f"model.layers.{i}.", f"transformer.blocks.{i}."
        q, k, v = (_pop(hf, f"{hf_block}self_attn.{n}_proj.weight") for n in "qkv")
        state[block + "att_proj.weight"] = torch.cat((q, k, v), dim=0)
        state[block + "attn_out.weight"] = _pop(hf, f"{hf_block}self_attn.o_proj.weight")
        up, gate = _pop(hf, f"{hf_block}mlp.up_proj.weight"), _pop(hf, f"{hf_block}mlp.gate_proj.weight")
        state[block + "ff_proj.weight"] = torch.cat((up, gate), dim=0)  # OLMo: first half up
        state[block + "ff_out.weight"] = _pop(hf, f"{hf_block}mlp.down_proj.weight")
    if config.weight_tying:
        hf.pop("lm_head.weight", None)  # some writers store the tied copy too
    else:
        state["transformer.ff_out.weight"] = _pop(hf, "lm_head.weight")
    hf = {k: v for k, v in hf.items() if not k.endswith("rotary_emb.inv_freq")}  # old writers kept it
    if hf:
        raise InputFileError(f"unexpected tensors in the Hugging Face checkpoint: {some_names(hf)}")
    return state


def state_dict_to_hf(state: dict[str, torch.Tensor], config: OLMoConfig) -> dict[str, torch.Tensor]:
    """Our names -> HF OlmoForCausalLM names (q/k/v and up/gate as separate matrices)."""
    hf = {"model.embed_tokens.weight": state["transformer.wte.weight"]}
    for i in range(config.n_layers):
        hf_block, block = f"model.layers.{i}.", f"transformer.blocks.{i}."
        q, k, v = state[block + "att_proj.weight"].split(config.d_model, dim=0)
        hf[f"{hf_block}self_attn.q_proj.weight"] = q
        hf[f"{hf_block}self_attn.k_proj.weight"] = k
        hf[f"{hf_block}self_attn.v_proj.weight"] = v
        hf[f"{hf_block}self_attn.o_proj.weight"] = state[block + "attn_out.weight"]
        up, gate = state[block + "ff_proj.weight"].chunk(2, dim=0)
        hf[f"{hf_block}mlp.up_proj.weight"] = up
        hf[f"{hf_block}mlp.gate_proj.weight"] = gate
        hf[f"{hf_block}mlp.down_proj.weight"] = state[block + "ff_out.weight"]
    if not config.weight_tying:
        hf["lm_head.weight"] = state["transformer.ff_out.weight"]
    return hf


# --- helpers --------------------------------------------------------------------


def _read_safetensors(root: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    if (root / HF_WEIGHTS).exists():
        files = [HF_WEIGHTS]
    else:  # sharded: the index maps each tensor to its file
        files = sorted(set(_read_json(root / HF_INDEX).get("weight_map", {}).values()))
    state: dict[str, torch.Tensor] = {}
    for name in files:
        if not (root / name).is_file():
            raise InputFileError(f"{root / HF_INDEX} lists {name}, which is missing")
        try:
            state.update(load_file(str(root / name)))
        except Exception as e:  # safetensors raises its own SafetensorError on a damaged file
            raise InputFileError(f"cannot read {root / name}: {e}") from e
    return state


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputFileError(f"cannot read {path}: {e}") from e


def _pop(state: dict[str, torch.Tensor], key: str) -> torch.Tensor:
    if key not in state:
        raise InputFileError(f"the Hugging Face checkpoint lacks {key}")
    return state.pop(key)


def _shard(state: dict[str, torch.Tensor], max_bytes: int) -> list[list[str]]:
    """Tensor names in order, cut into groups of at most max_bytes (a larger tensor stands alone)."""
    shards: list[list[str]] = [[]]
    size = 0
    for name, tensor in state.items():
        if shards[-1] and size + _nbytes(tensor) > max_bytes:
            shards.append([])
            size = 0
        shards[-1].append(name)
        size += _nbytes(tensor)
    return shards


def _nbytes(tensor: torch.Tensor) -> int:
    return tensor.numel() * tensor.element_size()


def _first(value):
    return value[0] if isinstance(value, list) and value else value
