"""Train a small OLMo-core transformer with olmo-green's energy callback, then print the report.

    pip install 'olmo-green[olmo-core]'
    python examples/olmo_core_train.py --steps 100 --run-dir runs/olmo-core --hardware lumi --simulate

The model is OLMo-core's own OLMo 2 config (olmo2_14M, cut to 4 layers and 4
heads: ~1M parameters, the size of olmo-green's `tiny`), trained on CPU on
synthetic byte-level text written into the run directory. Run the same command
again with a larger --steps to continue the run: OLMo-core resumes from the
newest checkpoint in RUN/checkpoints, and the energy record continues.

Several processes (gloo on CPU): torchrun --nproc-per-node 2 examples/olmo_core_train.py ...
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

SEQUENCE_LENGTH = 256
INSTANCES_PER_STEP = 8  # global batch: 8 x 256 = 2,048 tokens, as `olmo-green train --model tiny`
BYTE_EOS, BYTE_VOCAB, PADDED_VOCAB = 256, 257, 384  # byte-level tokens, embedding padded as tiny's


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=100, help="train up to this step")
    p.add_argument("--run-dir", default=f"runs/olmo-core-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}")
    p.add_argument("--hardware", default="local", help="olmo-green hardware profile or YAML file")
    p.add_argument("--simulate", action="store_true", help="the profile's modelled devices, not sensors")
    p.add_argument("--data", help="OLMo token file (uint16 input_ids.npy); default: synthetic text")
    p.add_argument("--save-interval", type=int, default=50)
    p.add_argument("--save-async", choices=["yes", "no"], default="no",
                   help="OLMo-core's asynchronous checkpointing (its default where the backend allows)")
    p.add_argument("--eval-interval", type=int, default=0, help="in-loop LM eval every N steps; 0: none")
    p.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="a tag for config.yaml")
    p.add_argument("--sampling-interval-s", type=float, default=0.1)
    return p.parse_args(argv)


def write_text_tokens(path: Path, n_tokens: int, seed: int) -> None:
    """Byte-level tokens of repetitive text (learnable in a few dozen steps), EOS between lines."""
    rng = np.random.default_rng(seed)
    words = [w.encode() for w in "the quick brown fox jumps over a lazy dog again and again".split()]
    out = bytearray()
    while len(out) < n_tokens:
        line = b" ".join(words[int(i)] for i in rng.integers(len(words), size=40))
        out += line + bytes([0])  # placeholder byte, replaced by EOS below
    tokens = np.frombuffer(bytes(out[:n_tokens]), dtype=np.uint8).astype(np.uint16)
    tokens[tokens == 0] = BYTE_EOS
    path.parent.mkdir(parents=True, exist_ok=True)
    tokens.tofile(path)


def build_trainer(args: argparse.Namespace, run_dir: Path, extra_callbacks: dict | None = None):
    """OLMo-core's trainer with the energy callback: what an existing script adds is marked."""
    from olmo_core.data import (
        NumpyDataLoaderConfig,
        NumpyFSLDatasetConfig,
        NumpyPaddedFSLDatasetConfig,
        TokenizerConfig,
    )
    from olmo_core.distributed.parallel import DataParallelType
    from olmo_core.distributed.utils import get_rank, get_world_size, is_distributed
    from olmo_core.nn.transformer import TransformerConfig
    from olmo_core.optim import AdamWConfig
    from olmo_core.train import Duration, TrainerConfig
    from olmo_core.train.callbacks import CheckpointerCallback, LMEvaluatorCallbackConfig
    from olmo_core.train.train_module import TransformerDataParallelConfig, TransformerTrainModuleConfig

    from olmo_green.integrations.olmo_core import EnergyCallbackConfig  # <- added

    data = Path(args.data) if args.data else run_dir / "data" / "train.npy"
    eval_data = run_dir / "data" / "eval.npy"
    if get_rank() == 0 and not args.data and not data.exists():
        write_text_tokens(data, SEQUENCE_LENGTH * INSTANCES_PER_STEP * 400, seed=1)
    if get_rank() == 0 and args.eval_interval and not eval_data.exists():
        write_text_tokens(eval_data, SEQUENCE_LENGTH * 16, seed=2)
    if is_distributed():
        torch.distributed.barrier()
    tokenizer = TokenizerConfig(vocab_size=BYTE_VOCAB, eos_token_id=BYTE_EOS, pad_token_id=BYTE_EOS)
    model = TransformerConfig.olmo2_14M(vocab_size=PADDED_VOCAB, n_layers=4, n_heads=4)
    dp = TransformerDataParallelConfig(name=DataParallelType.ddp) if is_distributed() else None
    train_module = TransformerTrainModuleConfig(
        rank_microbatch_size=SEQUENCE_LENGTH * INSTANCES_PER_STEP // get_world_size(),
        max_sequence_length=SEQUENCE_LENGTH, optim=AdamWConfig(lr=3e-3), compile_model=False, dp_config=dp,
    ).build(model.build(init_device="meta"))
    cache = str(run_dir / "data" / "cache")
    dataset = NumpyFSLDatasetConfig(paths=[str(data)], sequence_length=SEQUENCE_LENGTH, tokenizer=tokenizer,
                                    work_dir=cache).build()
    loader = NumpyDataLoaderConfig(global_batch_size=SEQUENCE_LENGTH * INSTANCES_PER_STEP, seed=0,
                                   num_workers=0)
    loader = loader.build(dataset, dp_process_group=train_module.dp_process_group)
    tags = dict(tag.split("=", 1) for tag in args.tag)
    config = (
        TrainerConfig(save_folder=str(run_dir / "checkpoints"), save_overwrite=True,
                      metrics_collect_interval=1, cancel_check_interval=1,
                      max_duration=Duration.steps(args.steps))
        .with_callback("checkpointer", CheckpointerCallback(save_interval=args.save_interval,
                                                            save_async=args.save_async == "yes"))
        .with_callback("energy", EnergyCallbackConfig(  # <- added: the energy record of this run
            run_dir=str(run_dir), hardware=args.hardware, simulate=args.simulate, tags=tags,
            sampling_interval_s=args.sampling_interval_s))
    )
    if args.eval_interval:
        eval_set = NumpyPaddedFSLDatasetConfig(paths=[str(eval_data)], sequence_length=SEQUENCE_LENGTH,
                                               metadata=[{"label": "synthetic"}], tokenizer=tokenizer,
                                               work_dir=cache)
        config = config.with_callback("lm_evaluator", LMEvaluatorCallbackConfig(
            eval_dataset=eval_set, eval_interval=args.eval_interval, eval_duration=Duration.steps(2)))
    for name, callback in (extra_callbacks or {}).items():
        config = config.with_callback(name, callback)
    return config.build(train_module, loader)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))  # tiny steps: threads only contend
    from olmo_core.distributed.utils import get_rank, init_distributed, is_distributed
    from olmo_core.utils import seed_all

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        init_distributed(backend="gloo")  # OLMo-core's default backend needs CUDA
    seed_all(0)
    run_dir, rank = Path(args.run_dir), get_rank()  # every rank is 0 once the group is gone
    try:
        build_trainer(args, run_dir).fit()
    finally:
        if is_distributed():
            torch.distributed.destroy_process_group()
    if rank == 0:
        from olmo_green.accounts import account_many
        from olmo_green.reports import render

        print(render(account_many([str(run_dir)]), "md"), end="")  # what `olmo-green report RUN` prints


if __name__ == "__main__":
    main()
