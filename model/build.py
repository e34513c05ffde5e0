"""Assemble a run from a TrainConfig: model, data, optimizer, process group.

Kept apart from the loop so that a test or a benchmark builds the same parts
as `olmo-green train` does, and so the loop itself stays generic.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import torch

from olmo_green.config import ModelSection, TrainConfig
from olmo_green.errors import ConfigError
from olmo_green.model import efficiency
from olmo_green.model.callbacks import Callback
from olmo_green.model.config import OLMoConfig, load_model_config
from olmo_green.model.corpus import builtin_corpus
from olmo_green.model.data import BatchLoader, GlobalOrder, MemmapDataset, resolve_paths, token_dtype
from olmo_green.model.distributed import DistEnv, barrier, shard_model
from olmo_green.model.olmo import OLMo
from olmo_green.model.optim import build_optimizer
from olmo_green.model.steprows import StepRows
from olmo_green.model.trainer import TrainerParts


def model_config(name: str) -> OLMoConfig:
    """A preset by name, or an OLMoConfig from a YAML file (model/config.py, load_model_config)."""
    return load_model_config(name)


def sequence_length(config: TrainConfig, model_cfg: OLMoConfig) -> int:
    seq_len = config.model.sequence_length or model_cfg.max_sequence_length
    if seq_len > model_cfg.max_sequence_length:
        raise ConfigError(f"model.sequence_length ({seq_len}) exceeds the model's "
                          f"max_sequence_length ({model_cfg.max_sequence_length})")
    return seq_len


def cache_dir() -> Path:
    return Path(os.environ.get("OLMO_GREEN_CACHE", Path.home() / ".cache" / "olmo-green"))


def data_files(config: TrainConfig, model_cfg: OLMoConfig, env: DistEnv) -> list[Path]:
    """The configured memmaps, or the built-in corpus (written once, by rank 0)."""
    if config.data.paths:
        return resolve_paths(config.data.paths)
    if model_cfg.vocab_size != 257:
        raise ConfigError(f"the built-in corpus is byte-level (vocabulary 257); model {config.model.name!r} "
                          "needs --data from `olmo-green prepare-data --tokenizer ...`")
    return [_builtin(env, held_out=False)]


def _builtin(env: DistEnv, held_out: bool) -> Path:
    suffix = "-eval" if held_out else ""
    folder = cache_dir() / f"builtin-py{sys.version_info.major}.{sys.version_info.minor}{suffix}"
    if env.is_main:
        builtin_corpus(folder, held_out)
    barrier()
    return builtin_corpus(folder, held_out)


def eval_files(config: TrainConfig, env: DistEnv) -> list[Path]:
    """Held-out memmaps: data.eval_paths, else the built-in corpus's held-out part
    when training on the built-in corpus; none (no eval) for other data."""
    if config.data.eval_paths:
        return resolve_paths(config.data.eval_paths)
    if config.data.paths or not config.eval_interval:
        return []
    return [_builtin(env, held_out=True)]


def build_eval_loader(config: TrainConfig, model_cfg: OLMoConfig, env: DistEnv) -> BatchLoader | None:
    """The same first `eval_batches` held-out batches at every eval, so evals compare."""
    files = eval_files(config, env)
    if not files or not config.eval_interval:
        return None
    dtype = token_dtype(model_cfg.vocab_size) if config.data.dtype == "auto" else np.dtype(config.data.dtype)
    dataset = MemmapDataset(files, sequence_length(config, model_cfg), dtype)
    order = GlobalOrder(len(dataset), config.seed, config.batch.global_batch_size, env.rank, env.world_size)
    if order.batches_per_epoch < config.eval_batches:
        raise ConfigError(f"eval_batches ({config.eval_batches}) needs more held-out data: "
                          f"{len(dataset)} instances make {order.batches_per_epoch} global batches")
    return BatchLoader(dataset, order)


def build_loader(config: TrainConfig, model_cfg: OLMoConfig, env: DistEnv, run_dir: Path) -> BatchLoader:
    dtype = token_dtype(model_cfg.vocab_size) if config.data.dtype == "auto" else np.dtype(config.data.dtype)
    dataset = MemmapDataset(data_files(config, model_cfg, env), sequence_length(config, model_cfg), dtype)
    # the order is a function of the seed; its files in the run directory are a cache and a record
    order = GlobalOrder(len(dataset), config.seed, config.batch.global_batch_size, env.rank, env.world_size,
                        folder=run_dir)
    order.order(0)  # write epoch 0's order now, not inside the first step
    return BatchLoader(dataset, order)


def build_model(model_cfg: OLMoConfig, seed: int, device: torch.device, env: DistEnv,
                options: ModelSection | None = None, replicate_degree: int = 1) -> torch.nn.Module:
    """The model on `device`: activation checkpointing and compile as `options` ask
    (model/efficiency.py), then FSDP2 or HSDP over several processes."""
    torch.manual_seed(seed)  # every rank initialises the same weights before sharding
    model = OLMo(model_cfg).to(device)
    efficiency.apply(model, options or ModelSection(compile=False), device)
    if env.is_distributed:
        model = shard_model(model, device, replicate_degree)
    return model


def build_parts(config: TrainConfig, run_dir: Path, device: torch.device, env: DistEnv,
                callbacks: list[Callback] | None = None,
                peak_flops_per_device: float | None = None) -> TrainerParts:
    """Everything the Trainer needs, from the configuration.

    Without `callbacks`, the run writes its step rows with StepRows (no telemetry).
    """
    model_cfg = model_config(config.model.name)
    config.batch.accumulation_steps(env.world_size)  # fail early on an uneven batch
    loader = build_loader(config, model_cfg, env, run_dir)
    eval_loader = build_eval_loader(config, model_cfg, env)
    config.distributed.shard_degree(env.world_size)  # fail early on an uneven HSDP split
    model = build_model(model_cfg, config.seed, device, env, config.model,
                        config.distributed.replicate_degree)
    optimizer = build_optimizer(model, config.optim)
    return TrainerParts(model=model, optimizer=optimizer, loader=loader, eval_loader=eval_loader,
                        config=config, run_dir=run_dir,
                        device=device, env=env,
                        callbacks=list(callbacks) if callbacks is not None else [StepRows()],
                        peak_flops_per_device=peak_flops_per_device)
