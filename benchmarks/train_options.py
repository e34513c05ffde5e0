"""The speed options on CPU, each against the eager default, as tokens/s ratios (issue 13).

Each arm is a real Trainer (Trainer.train_step, as fit() repeats it) on the same data;
an option's arm and the default's alternate in blocks of steps, A B B A, in one
process, so drift in the machine's load hits both alike. Printed per option: the
median ratio option / default over the block pairs (> 1: the option is faster).

- default-again: the default against itself, the noise floor of the ratios;
- ac-full, ac-selective: activation checkpointing (recomputes in backward: slower by design);
- compile: per-block torch.compile (compiled before timing; needs a C++ compiler);
- async-checkpoint: a save every --save-every steps, background against synchronous.

    python benchmarks/train_options.py [--model tiny] [--seq 128] [--batch 8] [--rounds 3] [--block 4]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from olmo_green.config import TrainConfig, apply_overrides
from olmo_green.model.build import build_parts
from olmo_green.model.distributed import DistEnv
from olmo_green.model.trainer import Trainer

OPTIONS = {
    "default-again": [],
    "ac-full": ["model.activation_checkpointing=full"],
    "ac-selective": ["model.activation_checkpointing=selective"],
    "compile": ["model.compile=true"],
    "async-checkpoint": ["async_checkpoint=true"],
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny")
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--rounds", type=int, default=3, help="A B B A rounds per option")
    p.add_argument("--block", type=int, default=4, help="steps per block")
    p.add_argument("--save-every", type=int, default=2, help="steps between saves (async-checkpoint arms)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--only", nargs="*", default=list(OPTIONS), help="options to measure")
    return p.parse_args()


class Arm:
    def __init__(self, root: Path, name: str, data: Path, args: argparse.Namespace, options: list[str]):
        config = apply_overrides(TrainConfig(), [
            f"model.name={args.model}", f"model.sequence_length={args.seq}", f"data.paths=[{data}]",
            f"batch.global_batch_size={args.batch}", f"batch.micro_batch_size={args.batch}",
            "progress=false", "eval_interval=0", "max_steps=1000000", "keep_checkpoints=1",
            "model.compile=false", *options])
        (root / name).mkdir()
        self.trainer = Trainer(build_parts(config, root / name, torch.device("cpu"), DistEnv(), callbacks=[]))
        self.saves = False  # set for the async-checkpoint comparison: both arms save
        self.save_every = args.save_every

    def run(self, steps: int) -> float:
        """tokens/s over `steps` steps (and their saves, for checkpoint arms)."""
        start = time.perf_counter()
        for _ in range(steps):
            self.trainer.train_step(self.trainer.step + 1)
            if self.saves and self.trainer.step % self.save_every == 0:
                self.trainer.save()
        self.trainer.finish_checkpoint_write()  # the block's last background write counts in its time
        return steps * self.trainer.tokens_per_step / (time.perf_counter() - start)


def measure(root: Path, data: Path, args: argparse.Namespace, option: str) -> list[float]:
    base = Arm(root, f"{option}-base", data, args, [])
    other = Arm(root, option, data, args, OPTIONS[option])
    base.saves = other.saves = option == "async-checkpoint"  # both arms save, sync against async
    for arm in (base, other):
        arm.run(2)  # warm (and compile)
    ratios = []
    for _ in range(args.rounds):
        a1, b1 = base.run(args.block), other.run(args.block)
        b2, a2 = other.run(args.block), base.run(args.block)
        ratios += [b1 / a1, b2 / a2]
    return ratios


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, torch {torch.__version__}, "
          f"{args.threads} thread(s); {args.model}, batch {args.batch} x {args.seq} tokens, "
          f"{args.rounds} ABBA rounds of {args.block} steps")
    print("| option | ratio option/default, median (min, max) |\n|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "data"
        data.mkdir()
        np.random.default_rng(0).integers(0, 257, 400_000, dtype=np.uint16).tofile(data / "input_ids.npy")
        for option in args.only:
            ratios = measure(root, data, args, option)
            print(f"| {option} | {statistics.median(ratios):.3f} ({min(ratios):.3f}, {max(ratios):.3f}) |",
                  flush=True)


if __name__ == "__main__":
    main()
