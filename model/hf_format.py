"""Hugging Face OLMo checkpoints: tensor names, safetensors reading and sharded writing.

The format, as allenai's -hf repositories ship it: `config.json` (model_type
olmo, olmo2 or olmo3; mapped in model/hf_config.py) and `model.safetensors`, or
shards listed in `model.safetensors.index.json`; transformers' names, with q/k/v
and up/gate as separate matrices.

Name mapping, per block N (HF <- native):
    model.layers.N.self_attn.{q,k,v}_proj  <- att_proj split along the output (q: d_model rows,
                                              k and v: n_kv_heads x head size rows each)
    model.layers.N.self_attn.o_proj        <- attn_out
    model.layers.N.mlp.up_proj             <- first half of ff_proj (OLMo's "x")
    model.layers.N.mlp.gate_proj           <- second half of ff_proj (through SiLU)
    model.layers.N.mlp.down_proj           <- ff_out
    model.embed_tokens / lm_head           <- transformer.wte / transformer.ff_out (untied only)
OLMo 2 and 3 add the norms' weights (OLMo's own names, as allenai/OLMo's
scripts/convert_olmo2_to_hf.py maps them):
    model.layers.N.self_attn.{q,k}_norm    <- q_norm, k_norm
    model.layers.N.post_attention_layernorm   <- attn_norm
    model.layers.N.post_feedforward_layernorm <- ff_norm
    model.norm                             <- transformer.ln_f
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from olmo_green.errors import InputFileError
from olmo_green.model.config import OLMoConfig
from olmo_green.model.hf_config import HF_CONFIG, config_from_hf, config_to_hf
from olmo_green.model.interop_common import some_names

if TYPE_CHECKING:  # the loaders take the model class: model/olmo.py imports them, not they it
    from olmo_green.model.olmo import OLMo

HF_WEIGHTS = "model.safetensors"
HF_INDEX = "model.safetensors.index.json"
HF_SHARD_GLOB = "model-*-of-*.safetensors"
MAX_SHARD_BYTES = 5 * 2**30  # transformers' default shard size
# norm weights of OLMo 2 and 3 blocks: (HF name within the layer, our name within the block)
BLOCK_NORMS = (("self_attn.q_norm", "q_norm"), ("self_attn.k_norm", "k_norm"),
               ("post_attention_layernorm", "attn_norm"), ("post_feedforward_layernorm", "ff_norm"))


# --- reading and writing --------------------------------------------------------


def read_hf(root: Path, model_class: type[OLMo]) -> tuple[OLMoConfig, dict[str, torch.Tensor]]:
    """The config and the state dict (our names) of an HF checkpoint directory for `model_class`."""
    document = _read_json(root / HF_CONFIG)
    if not isinstance(document, dict):
        raise InputFileError(f"{root / HF_CONFIG} holds a JSON {type(document).__name__}, not a model "
                             "configuration (an object with model_type, hidden_size, ...)")
    config = config_from_hf(document)
    tensors = _read_safetensors(root)
    check_hf_shapes(tensors, config, root, model_class)
    return config, state_dict_from_hf(tensors, config)


def save_hf(model: OLMo, path: str | os.PathLike, max_shard_bytes: int = MAX_SHARD_BYTES) -> None:
    """Write config.json and safetensors weights that transformers' *ForCausalLM loads.

    One model.safetensors up to max_shard_bytes, else shards with an index, as
    transformers writes them; a shard at a time keeps the serialisation buffer small.
    """
    from safetensors.torch import save_file

    hf_config = config_to_hf(model.config, dtype_name(model))  # refuses a model HF cannot hold
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
    (root / HF_CONFIG).write_text(json.dumps(hf_config, indent=2) + "\n", encoding="utf-8")


def dtype_name(model: OLMo) -> str:
    """The parameters' dtype as config.json spells it ("float32", "bfloat16")."""
    return str(next(model.parameters()).dtype).removeprefix("torch.")


# --- state dicts ----------------------------------------------------------------


def check_hf_shapes(hf: dict[str, torch.Tensor], config: OLMoConfig, source: Path,
                    model_class: type[OLMo]) -> None:
    """Every tensor of the configuration's shape, or one line naming the first that is not.

    The expected shapes come from our own writer applied to a model on the meta device,
    so reading and writing cannot disagree about them.
    """
    with torch.device("meta"):
        expected = state_dict_to_hf(model_class(config, init=False).state_dict(), config)
    for name, tensor in expected.items():
        if name in hf and hf[name].shape != tensor.shape:
            raise InputFileError(f"{source}: {name} has shape {tuple(hf[name].shape)}, but "
                                 f"{HF_CONFIG} implies {tuple(tensor.shape)}")


def state_dict_from_hf(hf: dict[str, torch.Tensor], config: OLMoConfig) -> dict[str, torch.Tensor]:
    """HF names -> ours (fused att_proj and ff_proj).

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
        if config.reordered_norm:
            for hf_name, name in BLOCK_NORMS:
                state[f"{block}{name}.weight"] = _pop(hf, f"{hf_block}{hf_name}.weight")
    if config.reordered_norm:
        state["transformer.ln_f.weight"] = _pop(hf, "model.norm.weight")
    if config.weight_tying:
        hf.pop("lm_head.weight", None)  # some writers store the tied copy too
    else:
        state["transformer.ff_out.weight"] = _pop(hf, "lm_head.weight")
    hf = {k: v for k, v in hf.items() if not k.endswith("rotary_emb.inv_freq")}  # old writers kept it
    if hf:
        raise InputFileError(f"unexpected tensors in the Hugging Face checkpoint: {some_names(hf)}")
    return state


def state_dict_to_hf(state: dict[str, torch.Tensor], config: OLMoConfig) -> dict[str, torch.Tensor]:
    """Our names -> transformers' (q/k/v and up/gate as separate matrices)."""
    kv = config.kv_heads * config.head_dim
    hf = {"model.embed_tokens.weight": state["transformer.wte.weight"]}
    for i in range(config.n_layers):
        hf_block, block = f"model.layers.{i}.", f"transformer.blocks.{i}."
        q, k, v = state[block + "att_proj.weight"].split((config.d_model, kv, kv), dim=0)
        hf[f"{hf_block}self_attn.q_proj.weight"] = q
        hf[f"{hf_block}self_attn.k_proj.weight"] = k
        hf[f"{hf_block}self_attn.v_proj.weight"] = v
        hf[f"{hf_block}self_attn.o_proj.weight"] = state[block + "attn_out.weight"]
        up, gate = state[block + "ff_proj.weight"].chunk(2, dim=0)
        hf[f"{hf_block}mlp.up_proj.weight"] = up
        hf[f"{hf_block}mlp.gate_proj.weight"] = gate
        hf[f"{hf_block}mlp.down_proj.weight"] = state[block + "ff_out.weight"]
        if config.reordered_norm:
            for hf_name, name in BLOCK_NORMS:
                hf[f"{hf_block}{hf_name}.weight"] = state[f"{block}{name}.weight"]
    if config.reordered_norm:
        hf["model.norm.weight"] = state["transformer.ln_f.weight"]
    if not config.weight_tying:
        hf["lm_head.weight"] = state["transformer.ff_out.weight"]
    return hf


# --- helpers --------------------------------------------------------------------


def _read_safetensors(root: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    if (root / HF_WEIGHTS).exists():
        files = [HF_WEIGHTS]
    else:  # sharded: the index maps each tensor to its file
        index = _read_json(root / HF_INDEX)
        weight_map = index.get("weight_map") if isinstance(index, dict) else None
        if not isinstance(weight_map, dict):
            raise InputFileError(f"{root / HF_INDEX} has no weight_map object naming each tensor's file")
        files = sorted(set(map(str, weight_map.values())))
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
