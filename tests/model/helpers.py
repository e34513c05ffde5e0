"""Small runs of the real trainer for tests: tiny preset, short sequences, byte data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from olmo_green.config import TrainConfig, apply_overrides
from olmo_green.model.build import build_parts
from olmo_green.model.distributed import DistEnv
from olmo_green.model.steprows import StepRows
from olmo_green.model.trainer import Trainer
from olmo_green.record import read_steps, superseded_steps


def byte_data(folder: Path, n_tokens: int = 20_000, seed: int = 0) -> Path:
    """Repetitive byte text (learnable in a few steps), written in OLMo's format."""
    rng = np.random.default_rng(seed)
    words = [w.encode() for w in "the quick brown fox jumps over a lazy dog again and again".split()]
    out = bytearray()
    while len(out) < n_tokens:
        out += words[int(rng.integers(len(words)))] + b" "
    folder.mkdir(parents=True, exist_ok=True)
    np.frombuffer(bytes(out[:n_tokens]), dtype=np.uint8).astype(np.uint16).tofile(folder / "input_ids.npy")
    return folder


def small_config(data: Path, *overrides: str) -> TrainConfig:
    base = [f"data.paths=[{data}]", "model.sequence_length=32", "batch.global_batch_size=8",
            "batch.micro_batch_size=4", "max_steps=6", "save_interval=3", "progress=false",
            "schedule.warmup_steps=2", "optim.lr=3e-3", "seed=1"]
    return apply_overrides(TrainConfig(), base + list(overrides))


def make_trainer(config: TrainConfig, run_dir: Path, callbacks: list | None = None,
                 env: DistEnv | None = None) -> Trainer:
    """A run without telemetry: StepRows writes steps.csv, then `callbacks` run."""
    run_dir.mkdir(parents=True, exist_ok=True)
    everyone = [StepRows(), *(callbacks or [])]
    return Trainer(build_parts(config, run_dir, torch.device("cpu"), env or DistEnv(), everyone))


def train_losses(run_dir: Path) -> list[float]:
    """Losses of the run's steps, each step once (a step redone after a resume: its last attempt)."""
    steps = read_steps(run_dir)
    current = (steps["phase"] == "train") & ~superseded_steps(steps)
    return steps[current].sort_values("step", kind="stable")["loss"].tolist()
