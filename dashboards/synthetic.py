"""Synthetic run records for the dashboard's tests, benchmark and demos.

Written with pandas straight in the layout of olmo_green/rr.py (closed
Parquet chunks plus an open CSV chunk, steps.csv with eval and checkpoint
rows), so the dashboard is tested against the contract, not against a writer.
Every sample's source is "simulated": these figures are modelled, and a report
of them says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from olmo_green import record as rr

TRAIN_W, EVAL_W, CHECKPOINT_W, SPIKE_W = 350.0, 200.0, 90.0, 700.0


@dataclass
class SyntheticRun:
    steps: int = 1000
    nodes: int = 2
    devices_per_node: int = 2
    step_s: float = 1.0
    sample_period_s: float = 1.0
    eval_every: int = 200
    eval_s: float = 20.0
    checkpoint_every: int = 500
    checkpoint_s: float = 40.0
    tokens_per_step: int = 4 * 2048
    start_s: float = 1_767_225_600.0  # 2026-01-01 00:00 UTC
    seed: int = 0
    hardware: str = "lumi"  # a profile with location- and market-based intensities


def _timeline(spec: SyntheticRun, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train step rows and phase rows (eval, then checkpoint, after some steps)."""
    step = np.arange(1, spec.steps + 1)
    duration = spec.step_s * (1.0 + 0.05 * rng.standard_normal(spec.steps)).clip(0.5)
    has_eval, has_ckpt = step % spec.eval_every == 0, step % spec.checkpoint_every == 0
    after = has_eval * spec.eval_s + has_ckpt * spec.checkpoint_s
    start = spec.start_s + np.r_[0.0, np.cumsum(duration + after)[:-1]]
    end = start + duration
    loss = 2.5 + 8.0 * np.exp(-step / (spec.steps / 8)) + 0.05 * rng.standard_normal(spec.steps)
    train = pd.DataFrame({"step": step, "time_start_s": start, "time_end_s": end,
                          "tokens": spec.tokens_per_step, "loss": loss, "lr": 3e-4, "phase": "train"})
    evals = pd.DataFrame({"step": step[has_eval], "time_start_s": end[has_eval],
                          "time_end_s": end[has_eval] + spec.eval_s, "phase": "eval"})
    ckpt_start = end[has_ckpt] + has_eval[has_ckpt] * spec.eval_s
    ckpts = pd.DataFrame({"step": step[has_ckpt], "time_start_s": ckpt_start,
                          "time_end_s": ckpt_start + spec.checkpoint_s, "phase": "checkpoint"})
    return train, pd.concat([evals, ckpts], ignore_index=True).sort_values("time_start_s")


def _power_w(time_s: np.ndarray, phases: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Train power with noise and rare spikes; eval and checkpoint windows lower."""
    power = TRAIN_W + 30.0 * np.sin(time_s / 600.0) + 10.0 * rng.standard_normal(len(time_s))
    starts = phases["time_start_s"].to_numpy(dtype=float)
    ends = phases["time_end_s"].to_numpy(dtype=float)
    inside = np.searchsorted(starts, time_s, side="right") - 1
    hit = (inside >= 0) & (time_s < ends[inside.clip(0)])
    kind = phases["phase"].to_numpy()[inside.clip(0)]
    power[hit & (kind == "eval")] = EVAL_W
    power[hit & (kind == "checkpoint")] = CHECKPOINT_W
    spikes = rng.random(len(time_s)) < 1e-4
    power[spikes] = SPIKE_W
    return power


def _device_samples(spec, node, device, phases, end_s, rng) -> pd.DataFrame:
    time_s = np.arange(spec.start_s + 0.01 * device, end_s, spec.sample_period_s)
    power = _power_w(time_s, phases, rng)
    energy = np.r_[0.0, np.cumsum(np.diff(time_s) * (power[1:] + power[:-1]) / 2)] + 1e6
    # Odd devices report power only: the dashboard must draw both kinds of sensor.
    counter = energy if device % 2 == 0 else np.full(len(time_s), np.nan)
    return pd.DataFrame({"time_s": time_s, "node": node, "device": str(device), "domain": "gpu",
                         "power_w": power, "energy_j": counter, "source": "simulated"})


def _write_node(run_dir: Path, node: str, samples: pd.DataFrame) -> None:
    """One closed Parquet chunk and an open CSV chunk holding the last few samples."""
    tail = min(10, len(samples) // 2)
    samples.iloc[: len(samples) - tail].to_parquet(rr.chunk_path(run_dir, node, 0), index=False)
    _write_csv(samples.iloc[len(samples) - tail:], rr.open_chunk_path(run_dir, node))


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Plain CSV, as an appending writer leaves it; Arrow's writer is ~20x faster than pandas'
    for the 10^6-step runs of the tests and benchmark."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    path.write_text(",".join(frame.columns) + "\n", encoding="utf-8")
    with path.open("ab") as sink:
        pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False, quoting_style="none"))


def write_synthetic_run(run_dir: str | Path, spec: SyntheticRun | None = None) -> Path:
    """Write a complete synthetic run record to `run_dir` and return its path."""
    spec = spec or SyntheticRun()
    run_dir = Path(run_dir)
    rr.telemetry_dir(run_dir).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(spec.seed)
    train, phases = _timeline(spec, rng)
    end_s = float(max(train["time_end_s"].max(), phases["time_end_s"].max() if len(phases) else 0))
    for n in range(spec.nodes):
        node = f"node{n}"
        frames = [_device_samples(spec, node, d, phases, end_s, rng) for d in range(spec.devices_per_node)]
        samples = pd.concat(frames, ignore_index=True)
        _write_node(run_dir, node, samples.sort_values("time_s", kind="stable", ignore_index=True))
    gpus = spec.nodes * spec.devices_per_node
    train["energy_j"] = (train["time_end_s"] - train["time_start_s"]) * TRAIN_W * gpus
    steps = pd.concat([train, phases], ignore_index=True).sort_values("time_start_s", kind="stable")
    steps["attempt"] = 0  # one uninterrupted attempt
    _write_csv(steps.reindex(columns=rr.STEP_COLUMNS), run_dir / rr.STEPS_FILE)  # no model: mfu empty
    rr.RunConfig.from_dict({"hardware": spec.hardware, "max_steps": spec.steps}).save(run_dir)
    return run_dir
