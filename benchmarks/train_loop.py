"""Overhead of `olmo-green train`'s loop against a bare forward/backward/step loop.

Both loops train the same model (same init) on the same batches from the same
BatchLoader, with AdamW and global-norm clipping; they alternate in blocks of
steps in one process so that machine load drifts hit both alike. The trainer
side is Trainer.train_step: hooks, LR schedule, loss all-reduce path, the
steps.csv row (StepRows) and the rich progress bar (everything fit() repeats
per step except checkpoints). No energy callback: its cost is measured by
benchmarks/telemetry_overhead.py.

    python benchmarks/train_loop.py [--model small] [--seq 64] [--batch 4] [--rounds 6] [--block 3]
                                     [--threads N]

Prints tokens/s per loop (median over blocks) and the overhead.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from olmo_green.config import TrainConfig, apply_overrides
from olmo_green.model.build import build_parts, model_config
from olmo_green.model.distributed import DistEnv
from olmo_green.model.optim import build_optimizer
from olmo_green.model.trainer import Trainer


def random_tokens(folder: Path, vocab: int, n_tokens: int) -> Path:
    """Random ids in OLMo's memmap format: the loop's cost does not depend on the text."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = np.random.default_rng(0).integers(0, vocab, n_tokens, dtype=np.int64)
    ids.astype(np.uint16 if vocab <= 65536 else np.uint32).tofile(folder / "input_ids.npy")
    return folder


def make_config(args: argparse.Namespace, data: Path) -> TrainConfig:
    total = args.rounds * args.block * 3 + 10
    return apply_overrides(TrainConfig(), [
        f"model.name={args.model}", f"model.sequence_length={args.seq}", f"data.paths=[{data}]",
        f"batch.global_batch_size={args.batch}", f"batch.micro_batch_size={args.batch}",
        f"max_steps={total}", f"save_interval={total}", "progress=true"])


class BareLoop:
    """nanoGPT-style: forward, loss, backward, clip, step, read the loss."""

    def __init__(self, model: torch.nn.Module, config: TrainConfig, loader):
        self.model, self.loader = model, loader
        self.optimizer = build_optimizer(model, config.optim)

    def step(self, index: int) -> float:
        ids = self.loader.batch(index)["input_ids"]
        logits = self.model(ids)[:, :-1]
        loss = F.cross_entropy(logits.float().flatten(0, 1), ids[:, 1:].flatten())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0, foreach=True)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss.item()


def time_bookkeeping(trainer: Trainer) -> list[float]:
    """Wrap the trainer's per-step bookkeeping with a timer: a noise-free bound on its overhead."""
    spent, inner = [0.0], trainer._after_step

    def timed(*args, **kwargs) -> None:
        start = time.perf_counter()
        inner(*args, **kwargs)
        spent[0] += time.perf_counter() - start

    trainer._after_step = timed
    return spent


def time_block(run_step, first: int, count: int) -> tuple[float, float]:
    """Wall seconds and this process's CPU seconds (robust to other jobs on a shared machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(first, first + count):
        run_step(i)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="small")
    parser.add_argument("--seq", type=int, default=64)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--block", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        vocab = model_config(args.model).vocab_size
        config = make_config(args, random_tokens(Path(tmp) / "data", vocab, 2_000_000))
        (Path(tmp) / "run").mkdir()
        parts = build_parts(config, Path(tmp) / "run", torch.device("cpu"), DistEnv())
        bare = BareLoop(copy.deepcopy(parts.model), config, parts.loader)
        trainer = Trainer(parts)
        trainer._start_progress()  # as fit() does; the bar is part of the loop's cost
        for callback in parts.callbacks:  # StepRows: opens steps.csv, as fit() would
            callback.pre_train({"step": 0, "run_dir": str(Path(tmp) / "run")})
        bookkeeping = time_bookkeeping(trainer)
        tokens = args.batch * args.seq * args.block
        rates = {"bare": [], "trainer": [], "bare_cpu": [], "trainer_cpu": []}
        step = 1
        for round_ in range(args.rounds + 1):  # round 0 warms both up and is not counted
            for name in (("bare", "trainer") if round_ % 2 else ("trainer", "bare")):
                run = bare.step if name == "bare" else (lambda i: trainer.train_step(i + 1))
                wall_s, cpu_s = time_block(run, step - 1, args.block)
                if round_:
                    rates[name].append(tokens / wall_s)
                    rates[name + "_cpu"].append(tokens / cpu_s)
            step += args.block
        trainer._progress.stop()
        report(args, rates)
        book_ms = 1e3 * bookkeeping[0] / ((args.rounds + 1) * args.block)  # trainer steps run
        step_ms = 1e3 * args.batch * args.seq / statistics.median(rates["trainer"])
        print(f"bookkeeping after each step (hooks, steps.csv row, progress bar): {book_ms:.2f} ms/step"
              f" = {100 * book_ms / step_ms:.3f} % of a median trainer step ({step_ms:.0f} ms)")


def report(args: argparse.Namespace, rates: dict[str, list[float]]) -> None:
    print(f"model={args.model} seq={args.seq} batch={args.batch} blocks={args.rounds}x{args.block} steps "
          f"threads={torch.get_num_threads()}")
    for clock, suffix in (("wall", ""), ("CPU time", "_cpu")):
        bare, loop = statistics.median(rates["bare" + suffix]), statistics.median(rates["trainer" + suffix])
        blocks = {k: ", ".join(f"{r:.0f}" for r in rates[k + suffix]) for k in ("bare", "trainer")}
        print(f"[{clock}] bare {bare:.1f} tokens/s ({blocks['bare']})")
        print(f"[{clock}] trainer {loop:.1f} tokens/s ({blocks['trainer']})")
        print(f"[{clock}] overhead {100 * (1 - loop / bare):+.2f} % (median of blocks; < 0: trainer faster)")

if __name__ == "__main__":
    main()
