"""RUN/config.yaml: one reader (RunConfig.load) and one writer (RunConfig.save).

Two programs write it. `olmo-green train` writes its whole configuration (TrainConfig: every
section) plus the model and the hardware profile as resolved when the run started
(`resolved_model`, `resolved_hardware`). A loop of the user's own (EnergyMeter, the Hugging
Face or OLMo-core callback) writes a part of it: `hardware`, `simulate`, `resolved_hardware`,
`telemetry` (the meter's options) and `tags`, and only where the run has no config.yaml yet.
So a file holds any subset of TrainConfig's keys plus the resolved ones; `given` says which,
because a section it lacks is unknown, not the default (a loop of the user's own may have
compiled its model: the dashboard must not say "eager").

Both writers give the run a `run_id` (uuid4 hex) when they create the file, and only then: a
resumed run rewrites config.yaml with the id it has, so the id names the run across resumes and
copies of its folder (summaries/identity.py counts a run given twice, or copied, once).

Loading validates everything: an unknown or mistyped key, a value of the wrong type or unit, a
number out of range (checks.py) is one line naming the file and the key. Records written before
this module (by either writer) load unchanged.
"""

from __future__ import annotations

import dataclasses
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from olmo_green.errors import ConfigError, GreenError, InputFileError
from olmo_green.fileio import write_atomic, write_if_absent
from olmo_green.record.csvfile import read_text
from olmo_green.record.keys import unknown_key
from olmo_green.record.layout import CONFIG_FILE
from olmo_green.record.options import TelemetryOptions
from olmo_green.record.train import TrainConfig

RESOLVED = ("resolved_model", "resolved_hardware")  # written for readers; never set by a user
METER_KEYS = ("hardware", "simulate", "resolved_hardware", "telemetry", "tags")  # a loop's own
RUN_ID = "run_id"  # top-level key: the run's id, written once when the record is created
_RUN_ID_FORM = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # ours are uuid4().hex; any plain word reads


def new_run_id() -> str:
    return uuid.uuid4().hex


@dataclass
class RunConfig:
    """A run's configuration as its config.yaml holds it."""

    train: TrainConfig = field(default_factory=TrainConfig)  # absent keys at their defaults
    resolved_model: dict[str, Any] | None = None  # OLMoConfig.to_dict() of the model trained
    resolved_hardware: dict[str, Any] | None = None  # the HardwareProfile, values and sources
    # the keys the file holds, top-level and dotted (model, model.compile, ...): all, for train's
    given: frozenset[str] = frozenset()
    run_id: str | None = None  # None: a record written before run ids

    # -- the parts readers use ------------------------------------------------------------------
    @property
    def telemetry(self) -> TelemetryOptions:
        return self.train.telemetry

    @property
    def tags(self) -> dict[str, str]:
        return dict(self.train.tags) if "tags" in self.given else {}

    def has(self, key: str) -> bool:
        """True if the file sets `key` (a section or a top-level key), rather than defaulting it."""
        return key in self.given

    def profile(self, origin: str = CONFIG_FILE):
        """The hardware profile the run used: the resolved one (what it was when the run started;
        a name may mean something else today), else the named one; None if neither is given."""
        from olmo_green.hardware.profiles import load_profile, profile_from_mapping

        if self.resolved_hardware is not None:
            return profile_from_mapping(self.resolved_hardware, f"{origin} (resolved_hardware)")
        return load_profile(self.train.hardware) if "hardware" in self.given else None

    def value(self, key: str) -> Any:
        """The value of a dotted key (model.compile) if the file sets it, else None."""
        if key not in self.given:
            return None
        holder: Any = self.train
        for part in key.split("."):
            holder = getattr(holder, part)
        return holder

    # -- files -------------------------------------------------------------------------------------
    @classmethod
    def for_training(cls, train: TrainConfig, model: dict[str, Any], hardware: dict[str, Any],
                     run_id: str | None = None) -> RunConfig:
        """`run_id`: the resumed run's (kept_run_id); a new one where None."""
        return cls(train, model, hardware, _keys({**train.to_dict(), **dict.fromkeys(RESOLVED)}),
                   run_id or new_run_id())

    @classmethod
    def for_meter(cls, profile, simulate: bool, telemetry: TelemetryOptions,
                  tags: dict[str, str] | None = None) -> RunConfig:
        """What a loop of the user's own records: the profile (a report then applies its PUE and
        intensity, not 1.0 and "unknown"), the meter's options and the tags."""
        train = TrainConfig(hardware=profile.name, simulate=simulate, telemetry=telemetry,
                            tags=dict(tags or {}))
        data = {"hardware": 0, "simulate": 0, "resolved_hardware": 0,
                "telemetry": dataclasses.asdict(telemetry)}
        return cls(train, None, dataclasses.asdict(profile), _keys(data | ({"tags": 0} if tags else {})),
                   new_run_id())  # saved only where the run has no config.yaml: a new record

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {RUN_ID: self.run_id} if self.run_id is not None else {}
        for key, value in self.train.to_dict().items():
            if key in self.given:
                data[key] = {k: v for k, v in value.items() if f"{key}.{k}" in self.given} \
                    if isinstance(value, dict) and key != "tags" else value
        for key in RESOLVED:
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data

    @classmethod
    def from_dict(cls, data: Any, origin: str = CONFIG_FILE) -> RunConfig:
        if not isinstance(data, dict):
            raise ConfigError(f"{origin}: a configuration is a mapping of keys to values, got {data!r}")
        known = [f.name for f in dataclasses.fields(TrainConfig)]
        for key in data:
            if key not in known and key not in RESOLVED and key != RUN_ID:
                raise _named(origin, unknown_key(str(key), [*known, *RESOLVED, RUN_ID]))
        run_id = _run_id(data.get(RUN_ID), origin)
        resolved = {key: data.get(key) for key in RESOLVED}
        for key, value in resolved.items():
            if value is not None and not isinstance(value, dict):
                raise ConfigError(f"{origin}: {key} must be a mapping, got {value!r}")
        try:
            train = TrainConfig.from_dict({k: v for k, v in data.items() if k not in (*RESOLVED, RUN_ID)})
        except GreenError as e:
            raise _named(origin, e) from None
        return cls(train, resolved["resolved_model"], resolved["resolved_hardware"],
                   _keys({k: v for k, v in data.items() if k != RUN_ID}), run_id)

    @classmethod
    def load(cls, run_dir: str | Path) -> RunConfig | None:
        """The run's config.yaml (None if it has none); a broken one is one line naming the file."""
        path = Path(run_dir) / CONFIG_FILE
        if not path.exists():
            return None
        text = read_text(path)
        try:
            data = yaml.safe_load(text)  # safe_load: a python/object tag is refused, never run
        except yaml.YAMLError as e:  # its message spans lines (with a caret); the CLI prints one
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise InputFileError(f"{path}: not valid YAML ({first}); fix it, or pass --hardware") from e
        return cls.from_dict({} if data is None else data, str(path))

    def save(self, run_dir: str | Path, replace: bool = True) -> bool:
        """Write RUN/config.yaml atomically (a reader never sees half a file; a planted symlink is
        replaced, never followed). `replace=False` never replaces one that exists, even one
        written meanwhile by another process; returns whether this call wrote it."""
        path = Path(run_dir) / CONFIG_FILE
        text = yaml.safe_dump(self.to_dict(), sort_keys=False)
        if replace:
            write_atomic(path, text, what="--run-dir")
            return True
        return write_if_absent(path, text)


def _run_id(value: Any, origin: str) -> str | None:
    """config.yaml's run_id: absent in older records; else one word (ours: uuid4().hex)."""
    if value is None:
        return None
    if not isinstance(value, str) or not _RUN_ID_FORM.fullmatch(value):
        raise ConfigError(f"{origin}: {RUN_ID} must be one word of 1-64 letters, digits, '_', '.' "
                          f"or '-' (olmo-green writes a uuid4 hex), got {value!r}; restore it, or "
                          "delete the line")
    return value


def kept_run_id(run_dir: str | Path) -> str:
    """The run id of the run in `run_dir` (a resume keeps it), else a new one."""
    recorded = RunConfig.load(run_dir) if exists(run_dir) else None
    return (recorded.run_id if recorded is not None else None) or new_run_id()


def _keys(data: dict[str, Any]) -> frozenset[str]:
    """The top-level keys of a config mapping, and section.key for the keys of its sections."""
    keys = set(map(str, data))
    for name, value in data.items():
        if isinstance(value, dict) and name not in ("tags", *RESOLVED):
            keys |= {f"{name}.{key}" for key in value}
    return frozenset(keys)


def _named(origin: str, error: GreenError) -> ConfigError:
    message = str(error)
    return ConfigError(message if message.startswith(origin) else f"{origin}: {message}")


def load(run_dir: str | Path) -> RunConfig | None:
    """RunConfig.load: the one reader of RUN/config.yaml."""
    return RunConfig.load(run_dir)


def save(run_dir: str | Path, config: RunConfig, replace: bool = True) -> bool:
    """RunConfig.save: the one writer of RUN/config.yaml."""
    return config.save(run_dir, replace)


def exists(run_dir: str | Path) -> bool:
    return os.path.lexists(Path(run_dir) / CONFIG_FILE)
