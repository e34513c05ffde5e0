"""Training-step throughput: our OLMo against transformers' reference of the same family.

OlmoForCausalLM for OLMo v1 presets, Olmo2ForCausalLM for OLMo 2 (olmo2-tiny),
Olmo3ForCausalLM for OLMo 3. One step = forward + cross-entropy + backward + AdamW
step, on the same configuration, the same weights (ours saved with save_pretrained,
loaded by transformers) and the same token batch. The two models alternate within one
process, round by round (ABBA order), so drift in the machine's speed (thermal,
other load) hits both alike. Prints one row per round and the median ratio
ours/reference (> 1: ours is faster).

With CUDA available it also measures bf16-autocast MFU of an OLMo-1B-shaped
model, or --gpu-model's (our model only): achieved FLOP/s over the device's peak dense bf16 FLOP/s
from the cited table PEAK_BF16_FLOPS below. Without CUDA it says it skipped.

    python benchmarks/train_step.py                      # CPU: small preset, 2 x 256 tokens
    python benchmarks/train_step.py --preset tiny --rounds 3
    python benchmarks/train_step.py --preset olmo2-tiny  # against Olmo2ForCausalLM
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from olmo_green.model.build import model_config
from olmo_green.model.config import OLMoConfig
from olmo_green.model.metrics import flops_per_token  # 6 N + attention, as the trainer reports
from olmo_green.model.olmo import OLMo

# Peak dense bf16 tensor FLOP/s per device as torch sees it (most specific name first).
# (substring of torch.cuda.get_device_name, FLOP/s, source)
PEAK_BF16_FLOPS: list[tuple[str, float, str]] = [
    ("H100 PCIe", 756e12, "NVIDIA H100 data sheet: 756 TFLOPS bf16 dense (PCIe)"),
    ("H100 NVL", 835e12, "NVIDIA H100 data sheet: 1,671 TFLOPS bf16 with sparsity (NVL) / 2"),
    ("H100", 989e12, "NVIDIA H100 data sheet: 989 TFLOPS bf16 dense (SXM5)"),
    ("H200", 989e12, "NVIDIA H200 data sheet: 989 TFLOPS bf16 dense (SXM)"),
    ("A100", 312e12, "NVIDIA A100 data sheet: 312 TFLOPS bf16 dense"),
    # ROCm shows each MI250X GCD as one device: half the package's 383 TFLOPS.
    ("MI250X", 191.5e12, "AMD MI250X data sheet: 383 TFLOPS bf16 per package, 2 GCDs"),
    ("MI300X", 1307.4e12, "AMD MI300X data sheet: 1,307.4 TFLOPS bf16 dense"),
]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="small", help="model preset for the CPU comparison")
    p.add_argument("--batch", type=int, default=2, help="sequences per step (CPU comparison)")
    p.add_argument("--seq", type=int, default=256, help="tokens per sequence (CPU comparison)")
    p.add_argument("--rounds", type=int, default=5, help="alternations of the two models")
    p.add_argument("--steps", type=int, default=3, help="timed steps per model per round")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps per model before round 1")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--gpu-model", default="olmo-1b",
                   help="preset or model YAML for the GPU MFU run (an olmo3 one runs FlexAttention)")
    p.add_argument("--gpu-batch", type=int, default=4, help="sequences per step for the GPU MFU run")
    p.add_argument("--gpu-seq", type=int, default=2048, help="tokens per sequence for the GPU MFU run")
    p.add_argument("--compile", action="store_true", help="torch.compile our model for the GPU run")
    return p.parse_args()


# --- one training step ------------------------------------------------------------


def make_step(model: torch.nn.Module, logits_of: Callable, ids: torch.Tensor,
              autocast: bool = False) -> Callable[[], float]:
    """A closure running one optimizer step on a fixed batch; returns the loss."""
    inputs, targets = ids[:, :-1], ids[:, 1:]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)
    model.train()

    def step() -> float:
        with torch.autocast(ids.device.type, dtype=torch.bfloat16, enabled=autocast):
            logits = logits_of(model, inputs)  # (B, T, V)
        loss = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()  # a host sync: the step has finished when the clock stops

    return step


def ours_logits(model: OLMo, inputs: torch.Tensor) -> torch.Tensor:
    return model(inputs)


def reference_logits(model: torch.nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    return model(input_ids=inputs, use_cache=False).logits


def time_steps(step: Callable[[], float], n: int, device: torch.device) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) for n steps."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - wall, time.process_time() - cpu


# --- CPU comparison ---------------------------------------------------------------


REFERENCES = {"olmo": "OlmoForCausalLM", "olmo2": "Olmo2ForCausalLM", "olmo3": "Olmo3ForCausalLM"}


def reference_twin(model: OLMo) -> torch.nn.Module:
    """transformers' model of the same family with our model's weights, through our HF writer."""
    import transformers

    reference_class = getattr(transformers, REFERENCES[model.config.family])
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        return reference_class.from_pretrained(tmp, attn_implementation="sdpa", dtype=torch.float32)


def compare(args: argparse.Namespace) -> list[float]:
    torch.manual_seed(0)
    ours = OLMo(OLMoConfig.from_preset(args.preset))
    reference = reference_twin(ours)
    config = ours.config
    ids = torch.randint(0, config.vocab_size, (args.batch, args.seq + 1),
                        generator=torch.Generator().manual_seed(1))
    steps = {"ours": make_step(ours, ours_logits, ids),
             "reference": make_step(reference, reference_logits, ids)}
    first = {name: step() for name, step in steps.items()}  # same weights, same data: same loss
    print(f"first-step loss: ours {first['ours']:.6f}, reference {first['reference']:.6f}")
    for step in steps.values():
        for _ in range(args.warmup - 1):
            step()
    tokens = args.batch * args.seq
    print(f"\n{args.preset} against {type(reference).__name__}: {config.num_params():,} parameters, "
          f"batch {args.batch} x {args.seq} tokens, "
          f"{args.steps} steps per model per round, {torch.get_num_threads()} threads\n")
    print("| round | ours (tokens/s) | reference (tokens/s) | ratio (wall) | ratio (CPU time) |")
    print("|---|---|---|---|---|")
    pair_wall, pair_cpu = [], []  # per adjacent pair of steps: reference time / our time
    for r in range(args.rounds):
        wall = {"ours": 0.0, "reference": 0.0}
        cpu = dict(wall)
        for i in range(args.steps):  # alternate step by step, ABBA, so load changes hit both alike
            order = ["ours", "reference"] if (r * args.steps + i) % 2 == 0 else ["reference", "ours"]
            pair = {name: time_steps(steps[name], 1, ids.device) for name in order}
            pair_wall.append(pair["reference"][0] / pair["ours"][0])
            pair_cpu.append(pair["reference"][1] / pair["ours"][1])
            for name, (w, c) in pair.items():
                wall[name], cpu[name] = wall[name] + w, cpu[name] + c
        print(f"| {r + 1} | {tokens * args.steps / wall['ours']:.1f} | "
              f"{tokens * args.steps / wall['reference']:.1f} | {wall['reference'] / wall['ours']:.3f} | "
              f"{cpu['reference'] / cpu['ours']:.3f} |")
    # Medians over adjacent pairs: a burst of other load mostly hits both steps of a pair.
    # CPU time (this process's) is less disturbed by other processes than wall time.
    for label, ratios in (("wall", pair_wall), ("CPU time", pair_cpu)):
        quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
        print(f"median ratio ours/reference ({label}) over {len(ratios)} step pairs: "
              f"{statistics.median(ratios):.3f} (quartiles {quartiles[0]:.3f}, {quartiles[2]:.3f})")
    return pair_wall


# --- GPU MFU ----------------------------------------------------------------------


def peak_flops(device_name: str) -> tuple[float, str] | None:
    for key, flops, source in PEAK_BF16_FLOPS:
        if key in device_name:
            return flops, source
    return None


def gpu_mfu(args: argparse.Namespace) -> None:
    if not torch.cuda.is_available():
        print("\nGPU MFU: skipped (no CUDA device available)")
        return
    device = torch.device("cuda")
    name = torch.cuda.get_device_name(device)
    config = model_config(args.gpu_model)
    model = OLMo(config).to(device)
    forward = torch.compile(model) if args.compile else model
    ids = torch.randint(0, config.vocab_size, (args.gpu_batch, args.gpu_seq + 1), device=device)
    step = make_step(model, lambda _, inputs: forward(inputs), ids, autocast=True)
    time_steps(step, args.warmup + 1, device)
    seconds, _ = time_steps(step, args.steps * args.rounds, device)
    tokens_per_s = args.gpu_batch * args.gpu_seq * args.steps * args.rounds / seconds
    achieved = tokens_per_s * flops_per_token(config, args.gpu_seq)
    print(f"\nGPU ({name}): {args.gpu_model}, bf16 autocast, batch {args.gpu_batch} x {args.gpu_seq}, "
          f"compile={args.compile}: {tokens_per_s:,.0f} tokens/s, {achieved / 1e12:.1f} TFLOP/s")
    peak = peak_flops(name)
    if peak is None:
        print(f"MFU: not computed, {name!r} is not in PEAK_BF16_FLOPS (add it with its source)")
    else:
        print(f"MFU: {achieved / peak[0]:.1%} of {peak[0] / 1e12:.0f} TFLOP/s ({peak[1]})")


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    machine = platform.processor() or platform.machine()
    # The load average says how much else ran: on a shared machine wall-clock ratios drift.
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine}, {os.cpu_count()} CPUs, "
          f"load average {load}, torch {torch.__version__}")
    compare(args)
    print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    gpu_mfu(args)


if __name__ == "__main__":
    main()
