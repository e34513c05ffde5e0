"""Telemetry overhead and integration accuracy (issue 4, item 8).

1. CPU time of one sampling round over 64 simulated devices: the sources alone,
   then with the meter's ledger, then with the record writer (the full path).
2. Integration accuracy on analytic power traces (square wave, ramp, bursts
   shorter than the interval), per sampling interval: the error of a counter
   read at that interval (quantised to 1 mJ, as NVML's) and of polled power
   integrated by the trapezoid rule, both through integrate.py.
3. Tokens/s of a bare OLMo training loop with and without the sampler at
   100 ms over 8 simulated devices, alternated in one run (ABBA rounds),
   printing the ratio (with / without; 1.0 = no overhead).
4. With --gpu and CUDA: a real training on the GPU with the NVML source, and
   the record's counter energy against its integrated polled power.

    python benchmarks/telemetry_overhead.py                 # 1-3 on CPU
    python benchmarks/telemetry_overhead.py --skip-train    # 1-2 only (seconds)
    python benchmarks/telemetry_overhead.py --gpu           # 4 as well
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import tempfile
import time

import numpy as np
import pandas as pd

from olmo_green import record as rr
from olmo_green.hardware.profiles import load_profile
from olmo_green.integrate import curve_from_samples
from olmo_green.telemetry import EnergyMeter
from olmo_green.telemetry.ledger import Ledger
from olmo_green.telemetry.sampler import Sampler
from olmo_green.telemetry.sources.simulated import SimulatedSource
from olmo_green.telemetry.store import SampleStore


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=2000, help="sampling rounds to time (part 1)")
    p.add_argument("--preset", default="small", help="model preset for part 3")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--train-rounds", type=int, default=4, help="ABBA pairs of part 3")
    p.add_argument("--steps", type=int, default=4, help="timed steps per arm per round")
    p.add_argument("--skip-train", action="store_true")
    p.add_argument("--gpu", action="store_true", help="part 4 on a CUDA GPU with NVML")
    p.add_argument("--gpu-seconds", type=float, default=60.0)
    return p.parse_args()


# -- 1. one sampling round -------------------------------------------------------------------------
def round_cpu_us(rounds: int) -> None:
    profile = dataclasses.replace(load_profile("h100"), devices_per_node=64, devices_per_package=1)
    with tempfile.TemporaryDirectory() as run_dir:
        store = SampleStore(run_dir, "bench", flush_interval_s=2.0)
        ledger = Ledger(0.1)

        def full(readings):
            store.append(readings)
            ledger.add(readings)

        arms = {"sources only": lambda r: None, "+ ledger": Ledger(0.1).add, "+ ledger + record": full}
        print("## 1. CPU time of one sampling round, 64 simulated devices")
        print("| path | CPU µs per round | µs per device |\n|---|---|---|")
        for name, sink in arms.items():
            source = SimulatedSource(profile)
            sampler = Sampler([source], sink, interval_s=0.1)
            sampler.sample_now()
            start = time.thread_time()
            for _ in range(rounds):
                sampler.sample_now()
            us = (time.thread_time() - start) / rounds * 1e6
            print(f"| {name} | {us:.0f} | {us / 64:.1f} |")
        store.close()


# -- 2. integration accuracy -----------------------------------------------------------------------
def square(t):
    return np.where((t % 1.0) < 0.5, 400.0, 100.0)  # 1 s period, 50 % duty


def ramp(t):
    return 50.0 * (t % 10.0)  # 0 -> 500 W over 10 s


def bursts(t):
    return np.where((t % 0.37) < 0.02, 500.0, 100.0)  # 20 ms bursts every 370 ms


TRACES = {"square 1 s": square, "ramp 10 s": ramp, "bursts 20 ms / 370 ms": bursts}
DURATION_S = 60.0
FINE_S = 1e-4


def _exact_cumulative_j(power, t_fine):
    p = power(t_fine)
    return np.concatenate([[0.0], np.cumsum((p[1:] + p[:-1]) / 2.0 * np.diff(t_fine))])


def _samples(t, power_w=None, energy_j=None):
    n = len(t)
    return pd.DataFrame({"time_s": t, "node": "b", "device": "0", "domain": "gpu", "source": "bench",
                         "power_w": power_w if power_w is not None else np.full(n, np.nan),
                         "energy_j": energy_j if energy_j is not None else np.full(n, np.nan)})


def accuracy() -> None:
    t_fine = np.arange(0.0, DURATION_S + FINE_S / 2, FINE_S)
    print("\n## 2. Integration error against the exact energy, 60 s traces")
    print("| trace | interval | counter error | polling error |\n|---|---|---|---|")
    for name, power in TRACES.items():
        exact = _exact_cumulative_j(power, t_fine)
        for interval_s in (0.01, 0.05, 0.1, 0.5, 1.0):
            t = np.arange(0.0123, DURATION_S, interval_s)  # an offset: no lucky alignment with edges
            truth = np.interp(t[-1], t_fine, exact) - np.interp(t[0], t_fine, exact)
            counter = np.floor(np.interp(t, t_fine, exact) * 1000.0) / 1000.0  # 1 mJ counter
            counted = curve_from_samples(_samples(t, energy_j=counter), max_gap_s=np.inf).total_j
            polled = curve_from_samples(_samples(t, power_w=power(t)), max_gap_s=np.inf).total_j
            print(f"| {name} | {interval_s * 1000:.0f} ms | {_pct(counted, truth)} | {_pct(polled, truth)} |")


def _pct(value: float, truth: float) -> str:
    return f"{(value - truth) / truth * 100:+.5f} %"


# -- 3. training throughput with and without the sampler -------------------------------------------
def throughput(args: argparse.Namespace) -> None:
    import torch
    import torch.nn.functional as F

    from olmo_green.model.olmo import OLMo

    torch.manual_seed(0)
    model = OLMo.from_preset(args.preset)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batch = torch.randint(0, model.config.vocab_size, (args.batch, args.seq + 1))
    tokens = args.batch * args.seq

    def train_step():
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.flatten(0, 1).float(), batch[:, 1:].flatten())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    costs = {"sampler_cpu_s": 0.0, "wall_s": 0.0, "step_call_s": 0.0, "step_calls": 0}

    def arm(with_meter: bool) -> float:
        with tempfile.TemporaryDirectory() as run_dir:
            meter = EnergyMeter(run_dir, "mosaicml-a100", simulate=True, sampling_interval_s=0.1) \
                if with_meter else None
            if meter:
                meter.start()
            start = time.perf_counter()
            for _ in range(args.steps):
                train_step()
                if meter:
                    call_s = time.perf_counter()
                    meter.step(tokens=tokens)
                    costs["step_call_s"] += time.perf_counter() - call_s
                    costs["step_calls"] += 1
            elapsed = time.perf_counter() - start
            if meter:
                costs["sampler_cpu_s"] += meter.sampler.cpu_s
                costs["wall_s"] += elapsed
                meter.close()
        return args.steps * tokens / elapsed

    for _ in range(2):
        train_step()  # warm-up
    off, on = [], []
    for _ in range(args.train_rounds):  # ABBA: drift in machine speed hits both arms alike
        off.append(arm(False))
        on += [arm(True), arm(True)]
        off.append(arm(False))
    ratio = statistics.median(on) / statistics.median(off)
    print(f"\n## 3. Training throughput, OLMo {args.preset}, {args.batch} x {args.seq} tokens, "
          f"sampler at 100 ms over 8 simulated devices")
    print("| arm | median tokens/s | runs |\n|---|---|---|")
    print(f"| without telemetry | {statistics.median(off):.0f} | {len(off)} |")
    print(f"| with telemetry | {statistics.median(on):.0f} | {len(on)} |")
    print(f"\nratio with/without: {ratio:.4f} (slowdown {(1 - ratio) * 100:+.2f} %)")
    share = costs["sampler_cpu_s"] / costs["wall_s"]
    print(f"sampler thread CPU per second of training: {share * 1e3:.2f} ms "
          f"({share * 100:.3f} % of one core); "
          f"meter.step() {costs['step_call_s'] / costs['step_calls'] * 1e6:.0f} µs per call")


# -- 4. a real GPU: counter against integrated polled power ----------------------------------------
def gpu_counter_vs_power(args: argparse.Namespace) -> None:
    import torch
    import torch.nn.functional as F

    from olmo_green.model.olmo import OLMo

    if not torch.cuda.is_available():
        print("\n## 4. GPU: skipped (no CUDA device)")
        return
    model = OLMo.from_preset("small").cuda()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batch = torch.randint(0, model.config.vocab_size, (16, 1025), device="cuda")
    with tempfile.TemporaryDirectory() as run_dir:
        with EnergyMeter(run_dir, "h100", sampling_interval_s=0.1) as meter:
            end = time.monotonic() + args.gpu_seconds
            while time.monotonic() < end:
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    logits = model(batch[:, :-1])
                loss = F.cross_entropy(logits.flatten(0, 1).float(), batch[:, 1:].flatten())
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                torch.cuda.synchronize()  # a benchmark, not the hot path: step windows end on the device
                meter.step(tokens=batch[:, :-1].numel())
                if meter.last_step % 40 == 0:
                    with meter.phase("idle"):
                        time.sleep(1.0)  # idle stretches make power vary
        samples = rr.read_samples(run_dir)
    print(f"\n## 4. {torch.cuda.get_device_name()}: NVML counter against integrated polled power")
    print("| device | counter J | polled power J | polled / counter |\n|---|---|---|---|")
    for device, group in samples.groupby("device"):
        counter = curve_from_samples(group).total_j
        polled = curve_from_samples(group.assign(energy_j=np.nan)).total_j
        print(f"| {device} | {counter:.1f} | {polled:.1f} | {polled / counter:.4f} |")


def main() -> None:
    args = parse_args()
    print(f"# telemetry_overhead on {platform.node()} ({platform.processor() or platform.machine()}), "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    round_cpu_us(args.rounds)
    accuracy()
    if not args.skip_train:
        throughput(args)
    if args.gpu:
        gpu_counter_vs_power(args)


if __name__ == "__main__":
    main()
