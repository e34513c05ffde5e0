"""Helpers both checkpoint formats (model/hf_format.py, model/native_format.py) share.

Each turns a checkpoint that model/olmo.py cannot compute into an InputFileError
that names the file and the offending field.
"""

from __future__ import annotations

import dataclasses
import typing

import torch

from olmo_green.errors import ConfigError, InputFileError
from olmo_green.model.config import OLMoConfig

# Floating dtypes a model can be converted in; anything else (int8 from a quantiser, bool) is refused.
FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


def make_config(values: dict, source: str) -> OLMoConfig:
    """An OLMoConfig from a checkpoint's own fields, each of the type it must have (a layer
    count written as a string is refused by its name, not met later as a TypeError)."""
    known = {f.name for f in dataclasses.fields(OLMoConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputFileError(f"{source}: unknown model option(s) {unknown}")
    hints = typing.get_type_hints(OLMoConfig)
    for key, value in values.items():
        _check_type(key, value, hints[key], source)
    try:
        return OLMoConfig(**values)
    except ConfigError as e:
        raise InputFileError(f"{source}: {e}") from e
    except TypeError as e:  # a required field missing
        raise InputFileError(f"{source}: incomplete model configuration ({e})") from e


def _check_type(key: str, value, hint, source: str) -> None:
    allowed = typing.get_args(hint) or (hint,)
    if value is None and type(None) in allowed:
        return
    if int in allowed and isinstance(value, int) and not isinstance(value, bool):
        return
    if float in allowed and isinstance(value, (int, float)) and not isinstance(value, bool):
        return
    if bool in allowed and isinstance(value, bool):
        return
    if str in allowed and isinstance(value, str):
        return
    if any(typing.get_origin(a) is list for a in allowed) and isinstance(value, list) \
            and all(isinstance(v, str) for v in value):
        return
    want = " or ".join(getattr(a, "__name__", str(a)) for a in allowed)
    raise InputFileError(f"{source}: {key} is {value!r} ({type(value).__name__}); it must be {want}")


def check_float(state: dict, source) -> None:
    """Weights in a floating dtype; quantised (int8) or other tensors are refused by name."""
    for name, tensor in state.items():
        if not isinstance(tensor, torch.Tensor) or tensor.dtype not in FLOAT_DTYPES:
            kind = tensor.dtype if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise InputFileError(f"{source}: {name} is {kind}, not a floating-point weight; quantised "
                                 "checkpoints are not supported: convert the unquantised one")


def required_field(mapping: dict, key: str, source: str) -> int:
    """A required size or id: an integer (a count written as "4" is refused, never repeated as text)."""
    value = mapping.get(key)
    if value is None:
        raise InputFileError(f"{source} lacks {key!r}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputFileError(f"{source}: {key} is {value!r} ({type(value).__name__}); it must be an integer")
    return value


def require_value(mapping: dict, key: str, value, source: str) -> None:
    if key in mapping and mapping[key] is not None and mapping[key] != value:
        raise InputFileError(f"{source}: {key} is {mapping[key]!r}; olmo-green supports only {value!r}")


def some_names(names, limit: int = 4) -> str:
    names = sorted(names)
    shown = ", ".join(names[:limit]) or "none"
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
