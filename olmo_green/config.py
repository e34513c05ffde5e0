"""The run configuration: nested typed dataclasses, YAML, and dotted overrides.

Each section validates itself in ``__post_init__`` and names the offending field
as it appears on the command line (``optim.lr``), so ``--set optim.lr=-1`` fails
with one line that says what to change. ``config.yaml`` in a run directory is
``TrainConfig.to_dict()`` plus the resolved model and hardware profile.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from olmo_green import checks
from olmo_green.errors import ConfigError, InputFileError
from olmo_green.fileio import write_atomic


def _positive(section: str, name: str, value: float | int | None, allow_none: bool = False,
              integer: bool = False) -> None:
    """A finite positive number (checks.positive: nan, inf and bools are refused too)."""
    if value is None and allow_none:
        return
    key = f"{section}.{name}" if section else name  # top-level keys have no section
    checks.positive(value, key, integer=integer)


def _at_least_zero(key: str, value: float | int, integer: bool = False) -> None:
    checks.at_least(value, 0, key, integer=integer)


ACTIVATION_CHECKPOINTING = ("none", "full", "selective")


@dataclass
class ModelSection:
    name: str = "tiny"  # preset (tiny, small, olmo-1b, olmo-7b) or a model YAML file
    sequence_length: int | None = None  # None: the preset's max_sequence_length
    # torch.compile each block (model/efficiency.py); None: on for CUDA and ROCm, off on CPU.
    # A run's config.yaml holds the value it resolved to.
    compile: bool | None = None
    # Recompute block activations in backward instead of keeping them: none, full (every block)
    # or selective (every Nth block, N = activation_checkpointing_every), as OLMo-core's modes.
    activation_checkpointing: str = "none"
    activation_checkpointing_every: int = 2

    def __post_init__(self) -> None:
        _positive("model", "sequence_length", self.sequence_length, allow_none=True, integer=True)
        if self.activation_checkpointing not in ACTIVATION_CHECKPOINTING:
            raise ConfigError(f"model.activation_checkpointing must be one of "
                              f"{', '.join(ACTIVATION_CHECKPOINTING)}, got {self.activation_checkpointing!r}")
        _positive("model", "activation_checkpointing_every", self.activation_checkpointing_every,
                  integer=True)


@dataclass
class DataSection:
    paths: list[str] = field(default_factory=list)  # empty: the built-in corpus
    # held-out memmaps for eval; empty: the built-in corpus's held-out part, or no eval with --data
    eval_paths: list[str] = field(default_factory=list)
    dtype: str = "auto"  # token dtype of input_ids.npy: auto (by vocabulary), uint16, uint32

    def __post_init__(self) -> None:
        if self.dtype not in ("auto", "uint16", "uint32"):
            raise ConfigError(f"data.dtype must be auto, uint16 or uint32, got {self.dtype!r}")


@dataclass
class OptimSection:
    # OLMo-1B.yaml: lr 4e-4, betas (0.9, 0.95), eps 1e-5, weight decay 0.1, clip 1.0
    lr: float = 4e-4
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95])
    eps: float = 1e-5
    weight_decay: float = 0.1
    max_grad_norm: float = 1.0
    grad_clip_warmup_steps: int | None = None  # OLMo-7B.yaml: 1000
    grad_clip_warmup_factor: float | None = None  # OLMo-7B.yaml: 10.0
    decay_norm_and_bias: bool = False  # OLMo's option: weight decay on norm weights too (OLMo 2, 3)
    # Weight of the z-loss, logsumexp(logits)^2 (model/trainer.py z_loss_sum); 0 leaves it out (v1)
    z_loss_multiplier: float = 0.0

    def __post_init__(self) -> None:
        _positive("optim", "lr", self.lr)
        _positive("optim", "eps", self.eps)
        _positive("optim", "max_grad_norm", self.max_grad_norm)
        betas_ok = isinstance(self.betas, list) and len(self.betas) == 2
        for beta in self.betas if betas_ok else []:
            checks.finite(beta, "optim.betas")
            betas_ok = betas_ok and 0.0 <= beta < 1.0
        if not betas_ok:
            raise ConfigError(f"optim.betas must be two numbers in [0, 1), got {self.betas!r}")
        _at_least_zero("optim.weight_decay", self.weight_decay)
        checks.within(self.z_loss_multiplier, 0.0, 1.0, "optim.z_loss_multiplier")
        _positive("optim", "grad_clip_warmup_steps", self.grad_clip_warmup_steps, allow_none=True,
                  integer=True)
        _positive("optim", "grad_clip_warmup_factor", self.grad_clip_warmup_factor, allow_none=True)


@dataclass
class ScheduleSection:
    name: str = "cosine"  # cosine or linear, after a linear warmup from 0.1x peak
    warmup_steps: int = 20  # OLMo-1B.yaml: 2000
    alpha_f: float = 0.1  # final rate = alpha_f x peak
    t_max: int | None = None  # decay horizon; None: max_steps
    warmup_start: float = 0.1  # rate at step 0 as a fraction of peak: OLMo v1 0.1, OLMo 2 and 3 0.0

    def __post_init__(self) -> None:
        if self.name not in ("cosine", "linear"):
            raise ConfigError(f"schedule.name must be cosine or linear, got {self.name!r}")
        _at_least_zero("schedule.warmup_steps", self.warmup_steps, integer=True)
        checks.within(self.alpha_f, 0.0, 1.0, "schedule.alpha_f")
        checks.within(self.warmup_start, 0.0, 1.0, "schedule.warmup_start")
        if self.warmup_start == 1.0:  # the warmup starts below the peak learning rate
            raise ConfigError("schedule.warmup_start must be in [0, 1), got 1.0")
        _positive("schedule", "t_max", self.t_max, allow_none=True, integer=True)


@dataclass
class BatchSection:
    # CPU-demo sized (tiny: 8 x 256 tokens a step); OLMo-1B.yaml used 2048 x 2048
    global_batch_size: int = 8  # instances per optimizer step, over all ranks
    micro_batch_size: int = 8  # instances per forward/backward on one rank

    def __post_init__(self) -> None:
        _positive("batch", "global_batch_size", self.global_batch_size, integer=True)
        _positive("batch", "micro_batch_size", self.micro_batch_size, integer=True)

    def accumulation_steps(self, world_size: int) -> int:
        """Micro-batches per rank per step; the global batch must split evenly."""
        per_rank, rest = divmod(self.global_batch_size, world_size)
        if rest or per_rank % self.micro_batch_size:
            raise ConfigError(
                f"batch.global_batch_size ({self.global_batch_size}) must be a multiple of "
                f"world size ({world_size}) x batch.micro_batch_size ({self.micro_batch_size})"
            )
        return per_rank // self.micro_batch_size


@dataclass
class TelemetrySection:
    sampling_interval_s: float = 0.1  # background sampler period
    summary_bucket_s: float = 10.0  # time buckets of the chunk summaries reports and dashboards read
    # Prometheus /metrics on each node's sampler process (telemetry/metrics.py); None: off
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"  # loopback unless asked: the endpoint has no authentication
    forecast_interval_s: float = 60.0  # at most one forecast event this often (telemetry/forecast.py)

    def __post_init__(self) -> None:
        checks.check(self.sampling_interval_s, "sampling_interval_s", "telemetry.sampling_interval_s")
        checks.check(self.summary_bucket_s, "summary_bucket_s", "telemetry.summary_bucket_s")
        if self.metrics_port is not None:
            checks.check(self.metrics_port, "metrics_port", "telemetry.metrics_port")
        checks.check(self.forecast_interval_s, "forecast_interval_s", "telemetry.forecast_interval_s")
        if not self.metrics_host.strip():
            raise ConfigError("telemetry.metrics_host must name an address, e.g. 127.0.0.1")
        if 3600.0 % self.summary_bucket_s:  # hours must be whole buckets: hourly intensities stay exact
            raise ConfigError(f"telemetry.summary_bucket_s must divide 3600 (an hour), "
                              f"got {self.summary_bucket_s!r}")


@dataclass
class LogSection:
    """Experiment trackers fed with each step's loss, lr, energy and emissions (telemetry/trackers.py)."""

    tensorboard: bool = False  # RUN/tensorboard/; extra olmo-green[tensorboard]
    mlflow: bool = False  # RUN/mlruns/ unless MLFLOW_TRACKING_URI is set; extra olmo-green[mlflow]
    wandb: bool = False  # W&B; WANDB_MODE=offline keeps it on disk; extra olmo-green[wandb]

    def names(self) -> tuple[str, ...]:
        return tuple(name for name in ("tensorboard", "mlflow", "wandb") if getattr(self, name))


@dataclass
class DistributedSection:
    # HSDP: the ranks form replicate_degree groups (e.g. one per node), parameters are sharded
    # within a group and replicated across groups. 1: plain FSDP, sharded over all ranks.
    replicate_degree: int = 1

    def __post_init__(self) -> None:
        _positive("distributed", "replicate_degree", self.replicate_degree, integer=True)

    def shard_degree(self, world_size: int) -> int:
        """Ranks per shard group; the world must split into replicate_degree equal groups."""
        if world_size % self.replicate_degree:
            raise ConfigError(f"distributed.replicate_degree ({self.replicate_degree}) must divide the "
                              f"number of processes ({world_size})")
        return world_size // self.replicate_degree


@dataclass
class TrainConfig:
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    optim: OptimSection = field(default_factory=OptimSection)
    schedule: ScheduleSection = field(default_factory=ScheduleSection)
    batch: BatchSection = field(default_factory=BatchSection)
    telemetry: TelemetrySection = field(default_factory=TelemetrySection)
    log: LogSection = field(default_factory=LogSection)
    distributed: DistributedSection = field(default_factory=DistributedSection)
    max_steps: int = 200
    save_interval: int = 100
    keep_checkpoints: int = 2  # complete checkpoints kept on disk; 0 keeps all
    seed: int = 6198  # OLMo-1B.yaml's seed
    run_dir: str | None = None  # None: runs/<UTC timestamp>
    tags: dict[str, str] = field(default_factory=dict)  # train --tag KEY=VALUE; report --by KEY groups
    hardware: str = "local"  # profile name or YAML file
    simulate: bool = False  # modelled devices of the profile instead of real sensors
    progress: bool = True  # rich progress bar on the console (rank 0)
    eval_interval: int = 25  # evaluate every N steps (an "eval" window); 0: never
    eval_batches: int = 2  # global batches of held-out data per evaluation
    # Checkpoints during training are written in the background (model/checkpoint_async.py):
    # training waits only while the state is copied to host memory.
    async_checkpoint: bool = False

    def __post_init__(self) -> None:
        _positive("", "max_steps", self.max_steps, integer=True)
        _positive("", "save_interval", self.save_interval, integer=True)
        _at_least_zero("eval_interval (0: no eval)", self.eval_interval, integer=True)
        _positive("", "eval_batches", self.eval_batches, integer=True)
        _at_least_zero("keep_checkpoints (0 keeps all)", self.keep_checkpoints, integer=True)
        _at_least_zero("seed", self.seed, integer=True)
        self.tags = check_tags(self.tags)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        return _build(cls, data, prefix="")


def _build(cls: type, data: dict[str, Any], prefix: str) -> Any:
    """Build dataclass `cls` from a mapping, rejecting unknown keys by their dotted name."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'configuration'} must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown configuration key {prefix}{unknown[0]}; "
                          f"known: {', '.join(sorted(known))}")
    values = {}
    for name, value in data.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            values[name] = _build(hint, value or {}, prefix=f"{prefix}{name}.")
        else:
            values[name] = _check_type(value, hint, f"{prefix}{name}")
    return cls(**values)


def _check_type(value: Any, hint: Any, key: str) -> Any:
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
        if base is list and isinstance(value, list):
            return list(value)
        if base is dict and isinstance(value, dict):
            return dict(value)
    raise ConfigError(f"{key} must be {_type_name(hint)}, got {value!r}")


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _type_name(hint: Any) -> str:
    if _is_union(hint):
        return " or ".join(_type_name(h) for h in typing.get_args(hint))
    if hint is type(None):
        return "null"
    return getattr(typing.get_origin(hint) or hint, "__name__", str(hint))


# ---------------------------------------------------------------- tags


def check_tags(tags: Any) -> dict[str, str]:
    """Tags are text keys (a letter first: letters, digits, _ . -) with text values; YAML's
    numbers and booleans are kept as the text the user wrote would read."""
    if not isinstance(tags, dict):
        raise ConfigError(f"tags must be a mapping of KEY: VALUE, got {tags!r}")
    checked = {}
    for key, value in tags.items():
        if not (isinstance(key, str) and key[:1].isalpha() and key.replace("_", "").replace(".", "")
                .replace("-", "").isalnum()):
            raise ConfigError(f"tag key {key!r} must start with a letter and hold only letters, digits, "
                              "_ . or - (e.g. stage)")
        if value is None or isinstance(value, (dict, list)):
            raise ConfigError(f"tag {key} needs a text value, got {value!r} (e.g. stage=development)")
        checked[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return checked


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
            known = ", ".join(sorted(node)) if isinstance(node, dict) else "none (not a section)"
            where = ".".join(parts[:i]) or "top level"
            raise ConfigError(f"unknown configuration key {key!r}: no {part!r} at {where}; known: {known}")
        if i == len(parts) - 1:
            if isinstance(node[part], dict):
                raise ConfigError(f"{key} is a section; set one of its keys, "
                                  f"e.g. {key}.{next(iter(node[part]), 'KEY')}")
            node[part] = value
        else:
            node = node[part]


# ---------------------------------------------------------------- YAML


def load_config(path: str | Path) -> TrainConfig:
    """A TrainConfig from YAML; keys written for the reader (resolved_*) are skipped."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as e:
        raise InputFileError(f"configuration file {path} does not exist") from e
    except yaml.YAMLError as e:  # its message spans lines (with a caret); the CLI prints one
        raise ConfigError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a configuration is a mapping of keys to values")
    return TrainConfig.from_dict({k: v for k, v in data.items() if not k.startswith("resolved_")})


def save_config(config: TrainConfig, path: str | Path, resolved: dict[str, Any] | None = None) -> None:
    """Write the configuration, plus `resolved` sections (model, hardware) as resolved_<name>."""
    data = config.to_dict()
    for name, value in (resolved or {}).items():
        data[f"resolved_{name}"] = value
    # atomic and 0644: a reader never sees half a file, and a planted symlink is never followed
    write_atomic(path, yaml.safe_dump(data, sort_keys=False), what="--run-dir")
