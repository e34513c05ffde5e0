"""Building the config dataclasses from YAML mappings: unknown keys and wrong types refused in
one line that names the key (dotted, as `--set` writes it) and what is valid.

YAML has already typed each value; a number where a number belongs passes (an int as a float),
anything else is refused. A key's unit is in its name (sampling_interval_s: seconds), so a
value written with a unit ("100ms") is refused with the unit the key takes.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any

from olmo_green.errors import ConfigError

# Unit suffixes of key names (STYLE: units in names) -> what a value of that key is.
UNIT_WORDS = {"_s": "a number of seconds", "_w": "a number of watts", "_j": "a number of joules",
              "_steps": "a whole number of steps"}


# Keys that had another name once (the meter's): the suggestion names the new one.
RENAMED = {"interval_s": "sampling_interval_s", "sync_every_steps": "sync_interval_steps"}


def unknown_key(key: str, known: list[str] | set[str], where: str = "configuration key") -> ConfigError:
    """`unknown configuration key telemetry.interval_s; did you mean telemetry.sampling_interval_s?`"""
    prefix, _, name = key.rpartition(".")
    close = [RENAMED[name]] if RENAMED.get(name) in known else \
        difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.5)
    hint = f"did you mean {prefix + '.' if prefix else ''}{close[0]}? " if close else ""
    return ConfigError(f"unknown {where} {key}; {hint}valid: {', '.join(sorted(known))}")


def build(cls: type, data: Any, prefix: str = "") -> Any:
    """Dataclass `cls` from a mapping, its nested dataclass fields from nested mappings."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'configuration'} must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.init}
    for name in data:
        if name not in known:
            raise unknown_key(f"{prefix}{name}", known)
    values = {}
    for name, value in data.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            values[name] = build(hint, value or {}, prefix=f"{prefix}{name}.")
        else:
            values[name] = check_type(value, hint, f"{prefix}{name}")
    return cls(**values)


def check_type(value: Any, hint: Any, key: str) -> Any:
    """Accept `value` if it fits `hint` (YAML already typed it); ints pass as floats."""
    options = typing.get_args(hint) if _is_union(hint) else (hint,)
    for option in options:
        if option is type(None) and value is None:
            return None
        base = typing.get_origin(option) or option
        if base is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if base is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if base in (str, bool) and isinstance(value, base):
            return value
        if base in (list, tuple) and isinstance(value, (list, tuple)):
            return base(value)
        if base is dict and isinstance(value, dict):
            return dict(value)
    unit = next((word for suffix, word in UNIT_WORDS.items() if key.endswith(suffix)), None)
    what = f"{unit} ({_type_name(hint)})" if unit and isinstance(value, str) else _type_name(hint)
    raise ConfigError(f"{key} must be {what}, got {value!r}")


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _type_name(hint: Any) -> str:
    if _is_union(hint):
        return " or ".join(_type_name(h) for h in typing.get_args(hint))
    if hint is type(None):
        return "null"
    return getattr(typing.get_origin(hint) or hint, "__name__", str(hint))
