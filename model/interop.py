"""Checkpoint interop: Hugging Face OLMo directories and native OLMo checkpoints.

Two on-disk formats hold the same weights (OLMo v1, 2 or 3) under different names:

- Hugging Face (model/hf_format.py, config.json in model/hf_config.py): `config.json`
  and safetensors weights, with transformers' names (q/k/v and up/gate separate).
- native OLMo, unsharded (model/native_format.py): `model.pt` and `config.yaml`,
  with our own names, which are OLMo's.

This module is the entry point: it tells the formats apart, loads either into the
model class it is given (OLMo.from_pretrained passes itself), and re-exports each
format's public names (save_hf, config_from_hf, ...). It and the formats never import
model/olmo.py at run time: OLMo's from_pretrained and save_pretrained import them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from olmo_green.errors import InputFileError
from olmo_green.model.config import OLMoConfig
from olmo_green.model.hf_config import HF_CONFIG, HF_LAYER_NORM_EPS, VOCAB_KEY, config_from_hf, config_to_hf
from olmo_green.model.hf_format import (
    HF_INDEX,
    HF_SHARD_GLOB,
    HF_WEIGHTS,
    MAX_SHARD_BYTES,
    dtype_name,
    read_hf,
    save_hf,
    state_dict_from_hf,
    state_dict_to_hf,
)
from olmo_green.model.interop_common import check_float, some_names
from olmo_green.model.native_format import (
    NATIVE_CONFIG,
    NATIVE_LAYER_NORMS,
    NATIVE_REQUIRED,
    NATIVE_WEIGHTS,
    config_from_native,
    config_to_native,
    read_native,
    save_native,
)
from olmo_green.model.trainer_checkpoint import (
    TrainerCheckpoint,
    is_trainer_checkpoint,
    locate,
    read_trainer_checkpoint,
)

if TYPE_CHECKING:  # the loaders take the model class, so model/olmo.py imports this module, not it olmo
    from olmo_green.model.olmo import OLMo

__all__ = [
    "HF_CONFIG", "HF_INDEX", "HF_LAYER_NORM_EPS", "HF_SHARD_GLOB", "HF_WEIGHTS", "MAX_SHARD_BYTES",
    "NATIVE_CONFIG", "NATIVE_LAYER_NORMS", "NATIVE_REQUIRED", "NATIVE_WEIGHTS", "VOCAB_KEY",
    "config_from_hf", "config_from_native", "config_to_hf", "config_to_native", "detect_format",
    "dtype_name", "is_trainer_checkpoint", "load", "load_trainer", "locate", "save_hf", "save_native",
    "state_dict_from_hf", "state_dict_to_hf",
]


def detect_format(path: str | os.PathLike) -> str:
    """'hf' or 'olmo' for a checkpoint directory; InputFileError naming what is missing."""
    root = Path(path)
    if not root.is_dir():
        raise InputFileError(f"checkpoint {root} is not a directory")
    present = {p.name for p in root.iterdir()}
    if HF_CONFIG in present:
        if not present & {HF_WEIGHTS, HF_INDEX}:
            raise InputFileError(f"{root} has {HF_CONFIG} but neither {HF_WEIGHTS} nor {HF_INDEX}: "
                                 "not a Hugging Face OLMo checkpoint (only safetensors weights are read)")
        return "hf"
    if NATIVE_WEIGHTS in present or NATIVE_CONFIG in present:
        missing = [n for n in (NATIVE_WEIGHTS, NATIVE_CONFIG) if n not in present]
        if missing:
            raise InputFileError(f"{root} is missing {' and '.join(missing)} of a native OLMo checkpoint")
        return "olmo"
    raise InputFileError(
        f"{root} is not an OLMo checkpoint: expected {HF_CONFIG} with {HF_WEIGHTS} (or {HF_INDEX}) "
        f"for Hugging Face format, or {NATIVE_WEIGHTS} with {NATIVE_CONFIG} for native OLMo")


def load(path: str | os.PathLike, model_class: type[OLMo], dtype: torch.dtype | None = None) -> OLMo:
    """Load either format into a `model_class` (OLMo.from_pretrained passes itself); dtype None
    keeps the stored dtype."""
    root = Path(path)
    config, state = read_hf(root, model_class) if detect_format(root) == "hf" else read_native(root)
    return _build(model_class, config, state, dtype, root)


def load_trainer(found: TrainerCheckpoint, model_class: type[OLMo], model: str | None = None) -> OLMo:
    """A `model_class` from a checkpoint `olmo-green train` wrote (model/trainer_checkpoint.py)."""
    config, state = read_trainer_checkpoint(found, model)
    return _build(model_class, config, state, None, found.path)


def _build(model_class: type[OLMo], config: OLMoConfig, state: dict[str, torch.Tensor],
           dtype: torch.dtype | None, source: Path) -> OLMo:
    # Built on the meta device and given the loaded tensors (assign=True): no random
    # init and no second copy of a 7B model in memory.
    with torch.device("meta"):
        model = model_class(config, init=False)
    expected = set(model.state_dict())
    missing, unexpected = expected - set(state), set(state) - expected
    if missing or unexpected:
        raise InputFileError(f"{source}: weights do not match the {config.family} configuration, another "
                             f"model family or size? (missing {some_names(missing)}, unexpected "
                             f"{some_names(unexpected)})")
    check_float(state, source)
    for name, tensor in model.state_dict().items():
        if state[name].shape != tensor.shape:
            raise InputFileError(f"{source}: {name} has shape {tuple(state[name].shape)}, "
                                 f"the configuration implies {tuple(tensor.shape)}")
    if dtype is not None:
        state = {k: v.to(dtype) for k, v in state.items()}
    model.load_state_dict(state, assign=True)
    return model
