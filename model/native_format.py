"""Native OLMo checkpoints, unsharded: config.yaml mapping, model.pt reading and writing.

The format, as allenai/OLMo training writes it: `model.pt` (a plain state dict,
read with weights_only=True) and `config.yaml` (its `model:` section), with our
own names, which are OLMo's: transformer.blocks.N.att_proj ... so the weights
need no renaming, only the config does.

OLMo v1 and OLMo 2 are allenai/OLMo's own options (OLMo 2: configs/official-1124,
norm_after with RMSNorm and QK-norm). allenai/OLMo never trained OLMo 3, which
OLMo-core trained: for it we add two keys of our own, `sliding_window` and
`layer_types` (transformers' names), which allenai/OLMo's trainer would not read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import yaml

from olmo_green.errors import InputFileError
from olmo_green.model.config import OLMoConfig
from olmo_green.model.interop_common import make_config, require_value, required_field

if TYPE_CHECKING:  # model/olmo.py imports this module (through interop), not it olmo
    from olmo_green.model.olmo import OLMo

NATIVE_WEIGHTS = "model.pt"
NATIVE_CONFIG = "config.yaml"

# Native `model:` options that must hold these values for the checkpoint to be OLMo v1
# as model/olmo.py implements it; an option that is absent is taken to hold it.
# (An option absent from an OLMo 2 section takes allenai/OLMo's ModelConfig default.)
NATIVE_REQUIRED = {
    "rope": True,
    "alibi": False,
    "activation_type": "swiglu",
    "block_type": "sequential",
    "include_bias": False,
    "layer_norm_with_affine": False,
    "attention_layer_norm": False,
    "multi_query_attention": False,
    "scale_logits": False,
}
# "low_precision" and "amd_compatible" compute the same LayerNorm (only precision or kernel differ).
NATIVE_LAYER_NORMS = ("default", "low_precision", "amd_compatible")
# The same for OLMo 2 (configs/official-1124/OLMo2-7B-stage1.yaml): norm_after selects it.
NATIVE_REQUIRED_OLMO2 = {
    "rope": True,
    "alibi": False,
    "activation_type": "swiglu",
    "block_type": "sequential",
    "include_bias": False,
    "layer_norm_with_affine": True,
    "attention_layer_norm_with_affine": True,
    "bias_for_layer_norm": False,
    "multi_query_attention": False,
    "scale_logits": False,
    "clip_qkv": None,
}
# OLMo 2 options whose allenai/OLMo default is not OLMo 2's: they must be present.
NATIVE_PRESENT_OLMO2 = {"norm_after": True, "attention_layer_norm": True, "layer_norm_type": "rms"}
OLMO3_KEYS = ("sliding_window", "layer_types")


# --- reading and writing --------------------------------------------------------


def read_native(root: Path) -> tuple[OLMoConfig, dict[str, torch.Tensor]]:
    """The config and the state dict of a native checkpoint directory."""
    config = config_from_native(_read_yaml(root / NATIVE_CONFIG))
    return config, _read_torch(root / NATIVE_WEIGHTS)


def save_native(model: OLMo, path: str | os.PathLike) -> None:
    """Write model.pt (state dict with OLMo's names) and config.yaml (a `model:` section)."""
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach() for k, v in model.state_dict().items()}
    torch.save(state, root / NATIVE_WEIGHTS)
    document = yaml.safe_dump({"model": config_to_native(model.config)}, sort_keys=False)
    (root / NATIVE_CONFIG).write_text(document, encoding="utf-8")


# --- configs -------------------------------------------------------------------


def config_from_native(document: dict) -> OLMoConfig:
    """OLMoConfig from a native config.yaml (its `model:` section, or a bare model section)."""
    section = document.get("model", document) if isinstance(document, dict) else None
    if not isinstance(section, dict):
        raise InputFileError(f"{NATIVE_CONFIG} has no `model:` section")
    family = _native_family(section)
    d_model = required_field(section, "d_model", NATIVE_CONFIG)
    # OLMo sizes the MLP by mlp_hidden_size when set, else mlp_ratio x d_model (default ratio 4).
    mlp_hidden_size = section.get("mlp_hidden_size") or section.get("mlp_ratio", 4) * d_model
    vocab_size = required_field(section, "vocab_size", NATIVE_CONFIG)
    n_heads = required_field(section, "n_heads", NATIVE_CONFIG)
    values = dict(
        d_model=d_model,
        n_heads=n_heads,
        n_layers=required_field(section, "n_layers", NATIVE_CONFIG),
        mlp_hidden_size=mlp_hidden_size,
        vocab_size=vocab_size,
        embedding_size=section.get("embedding_size") or vocab_size,
        max_sequence_length=section.get("max_sequence_length", 1024),
        weight_tying=section.get("weight_tying", True),
        eos_token_id=required_field(section, "eos_token_id", NATIVE_CONFIG),
        pad_token_id=required_field(section, "pad_token_id", NATIVE_CONFIG),
        rope_theta=float(section.get("rope_theta", 10_000.0)),
        clip_qkv=section.get("clip_qkv"),
        layer_norm_eps=float(section.get("layer_norm_eps", 1e-5)),
    )
    if family != "olmo":
        n_kv = section.get("n_kv_heads")
        values.update(family=family, n_kv_heads=None if n_kv in (None, n_heads) else n_kv)
    if family == "olmo3":
        values.update({key: section.get(key) for key in OLMO3_KEYS})
    return make_config(values, NATIVE_CONFIG)


def _native_family(section: dict) -> str:
    """olmo (v1), olmo2 (norm_after) or olmo3 (norm_after and our window keys); refuses the rest."""
    if not section.get("norm_after"):
        for key, value in NATIVE_REQUIRED.items():
            require_value(section, key, value, NATIVE_CONFIG)
        if section.get("layer_norm_type", "default") not in NATIVE_LAYER_NORMS:
            raise InputFileError(f"{NATIVE_CONFIG}: layer_norm_type {section['layer_norm_type']!r} "
                                 f"is not supported (OLMo v1 uses {NATIVE_LAYER_NORMS[0]!r})")
        n_kv = section.get("n_kv_heads")
        if n_kv is not None and n_kv != section.get("n_heads"):
            raise InputFileError(f"{NATIVE_CONFIG}: n_kv_heads {n_kv} (grouped-query attention) "
                                 "needs OLMo 2's norm_after layout; OLMo v1 has none")
        return "olmo"
    for key, value in NATIVE_REQUIRED_OLMO2.items():
        require_value(section, key, value, NATIVE_CONFIG)
    for key, value in NATIVE_PRESENT_OLMO2.items():
        if section.get(key) != value:
            raise InputFileError(f"{NATIVE_CONFIG}: {key} is {section.get(key)!r}; with norm_after, "
                                 f"olmo-green reads OLMo 2 and 3, which need {value!r}")
    return "olmo3" if any(key in section for key in OLMO3_KEYS) else "olmo2"


def config_to_native(config: OLMoConfig) -> dict:
    """A native `model:` section in OLMo's option names, with the architecture spelled out."""
    section = {
        "d_model": config.d_model,
        "n_heads": config.n_heads,
        "n_layers": config.n_layers,
        "mlp_hidden_size": config.mlp_hidden_size,
        "vocab_size": config.vocab_size,
        "embedding_size": config.embedding_size,
        "max_sequence_length": config.max_sequence_length,
        "weight_tying": config.weight_tying,
        "eos_token_id": config.eos_token_id,
        "pad_token_id": config.pad_token_id,
        "rope_theta": config.rope_theta,
        "clip_qkv": config.clip_qkv,
        "layer_norm_eps": config.layer_norm_eps,
    }
    if config.family == "olmo":
        return {**section, **NATIVE_REQUIRED, "layer_norm_type": "default", "bias_for_layer_norm": False,
                "init_fn": "mitchell"}
    section.update(n_kv_heads=config.kv_heads, **NATIVE_REQUIRED_OLMO2, **NATIVE_PRESENT_OLMO2,
                   init_fn="normal", init_std=0.02, init_cutoff_factor=3)
    if config.family == "olmo3":
        section.update(sliding_window=config.sliding_window, layer_types=list(config.layer_types))
    return section


# --- helpers --------------------------------------------------------------------


def _read_torch(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # no pickled code runs
    except Exception as e:
        raise InputFileError(f"cannot read {path} as a weights-only state dict: {e}") from e
    if not isinstance(state, dict):
        raise InputFileError(f"{path} holds a {type(state).__name__}, not a state dict")
    return state


def _read_yaml(path: Path) -> dict:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise InputFileError(f"cannot read {path}: {e}") from e
