"""Helpers both checkpoint formats (model/hf_format.py, model/native_format.py) share.

Each turns a checkpoint that model/olmo.py cannot compute into an InputFileError
that names the file and the offending field.
"""

from __future__ import annotations

from olmo_green.errors import ConfigError, InputFileError
from olmo_green.model.config import OLMoConfig


def make_config(values: dict, source: str) -> OLMoConfig:
    try:
        return OLMoConfig(**values)
    except ConfigError as e:
        raise InputFileError(f"{source}: {e}") from e


def required_field(mapping: dict, key: str, source: str):
    if mapping.get(key) is None:
        raise InputFileError(f"{source} lacks {key!r}")
    return mapping[key]


def require_value(mapping: dict, key: str, value, source: str) -> None:
    if key in mapping and mapping[key] is not None and mapping[key] != value:
        raise InputFileError(f"{source}: {key} is {mapping[key]!r}; olmo-green supports only {value!r}")


def some_names(names, limit: int = 4) -> str:
    names = sorted(names)
    shown = ", ".join(names[:limit]) or "none"
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
