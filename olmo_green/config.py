"""`olmo-green train`'s configuration: `--set` overrides and `--tag` flags.

The dataclasses themselves are record/train.py (config.yaml's sections; the telemetry section
is the meter's options, record/options.py); a run's config.yaml is read and written by
record/config.py (RunConfig.load / save) only. The names are re-exported here for callers.
"""

from __future__ import annotations

from typing import Any

import yaml

from olmo_green.errors import ConfigError
from olmo_green.record.keys import unknown_key
from olmo_green.record.options import TelemetryOptions
from olmo_green.record.train import (
    ACTIVATION_CHECKPOINTING,
    BatchSection,
    DataSection,
    DistributedSection,
    LogSection,
    ModelSection,
    OptimSection,
    ScheduleSection,
    TrainConfig,
    check_tags,
)

TelemetrySection = TelemetryOptions  # the old name of the telemetry section
__all__ = ["ACTIVATION_CHECKPOINTING", "BatchSection", "DataSection", "DistributedSection", "LogSection",
           "ModelSection", "OptimSection", "ScheduleSection", "TelemetrySection", "TrainConfig",
           "apply_overrides", "check_tags", "parse_tags"]


def parse_tags(items: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`--tag KEY=VALUE` flags -> {KEY: VALUE}; a malformed one is one line."""
    tags = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"--tag expects KEY=VALUE (e.g. --tag stage=development), got {item!r}")
        tags[key.strip()] = value.strip()
    return check_tags(tags)


# ---------------------------------------------------------------- overrides


def apply_overrides(config: TrainConfig, overrides: list[str] | tuple[str, ...]) -> TrainConfig:
    """Apply `key=value` overrides (dotted keys, YAML-typed values); return a validated copy.

    A model.name that changes the model first brings that model's training recipe
    (olmo_green/model/recipes.py), so the overrides themselves still win over it.
    """
    data = config.to_dict()
    pairs = [_split_override(item) for item in overrides]
    model = next((value for key, value in reversed(pairs) if key == "model.name"), None)
    if model is not None and model != data["model"]["name"]:
        from olmo_green.model.recipes import recipe

        pairs = [*recipe(str(model)).items(), *pairs]
    for key, value in pairs:
        _set_dotted(data, key, value)
    return TrainConfig.from_dict(data)


# Keys the train command sets from its own flags: a --set of one would silently win over the flag
# (a run written somewhere else than --run-dir says), so it is refused, naming the flag.
CLI_OWNED_KEYS = {"run_dir": "--run-dir DIR", "tags": "--tag KEY=VALUE"}


def refuse_cli_owned(overrides: list[str] | tuple[str, ...]) -> None:
    """Refuse a user's --set of a key that a train flag owns, saying which flag to use."""
    for item in overrides:
        key = item.partition("=")[0].strip()
        owned = next((k for k in CLI_OWNED_KEYS if key == k or key.startswith(k + ".")), None)
        if owned is not None:
            raise ConfigError(f"--set {item}: {owned!r} is set by a flag of train, not --set; "
                              f"use {CLI_OWNED_KEYS[owned]}")


def _split_override(item: str) -> tuple[str, Any]:
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects key=value, got {item!r}")
    return key.strip(), _parse_value(text)


def _parse_value(text: str) -> Any:
    # YAML types the value: 3e-4 -> float, 100 -> int, true -> bool, [a, b] -> list, null -> None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    # PyYAML reads "3e-4" as a string (YAML 1.1 wants a dot): treat number-like strings as floats
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for i, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            if not isinstance(node, dict):
                raise ConfigError(f"unknown configuration key {key}: {'.'.join(parts[:i])} is a value, "
                                  "not a section")
            raise unknown_key(".".join(parts[: i + 1]), set(node))
        if i == len(parts) - 1:
            if isinstance(node[part], dict):
                raise ConfigError(f"{key} is a section; set one of its keys, "
                                  f"e.g. {key}.{next(iter(node[part]), 'KEY')}")
            node[part] = value
        else:
            node = node[part]
