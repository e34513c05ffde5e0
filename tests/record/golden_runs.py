"""Fixed-seed run records for the "figures unchanged" golden test (issue 22).

Simulated training (tests/simulated_runs.py, `olmo-green train --simulate`) stamps samples with
the wall clock and sleeps between steps, so two runs never give the same joules. Here the
telemetry is made deterministically instead: sample times come from a fixed start and period,
powers from a seeded generator, and go through the real chunk writer (SampleStore) so chunks,
Parquet conversion and chunk summaries are the production ones. Steps and events are written in
the record's formats (steps.csv, events.jsonl) and config.yaml in the shape `olmo-green train`
writes (TrainConfig.to_dict() plus resolved_model and resolved_hardware) or the shape the meter
writes for a loop of the user's own (hardware, simulate, resolved_hardware, telemetry, tags).
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import yaml

from olmo_green.hardware.profiles import load_profile
from olmo_green.model.config import OLMoConfig
from olmo_green.record import window_mfu
from olmo_green.telemetry.sources.base import Reading
from olmo_green.telemetry.store import SampleStore

START_S = 1_767_225_600.0  # 2026-01-01T00:00:00Z: hourly intensity series line up on whole hours
PERIOD_S = 0.5
STEP_S = 4.0
TOKENS = 2048
STEP_COLUMNS = ["step", "time_start_s", "time_end_s", "tokens", "loss", "lr", "energy_j", "phase", "attempt",
                "mfu"]

# name -> (model preset, hardware profile, devices, steps, seed, config shape)
RUNS = {
    "olmo1-lumi": ("tiny", "lumi", 4, 30, 11, "train"),
    "olmo2-a100": ("olmo2-tiny", "mosaicml-a100", 2, 25, 12, "train"),
    "olmo3-lumi": ("olmo3-tiny", "lumi", 2, 20, 13, "train"),
    "olmo1-a100-meter": ("tiny", "mosaicml-a100", 2, 15, 14, "meter"),
}
NODE = "node0"  # the one node of each record (its SampleStore, its sensors event)
RESUMED = "olmo1-a100-resumed"  # killed after step 12, resumed from the checkpoint at step 10


def _config(model: str, hardware: str, shape: str, tags: dict[str, str]) -> dict:
    profile = dataclasses.asdict(load_profile(hardware))
    telemetry = {"sampling_interval_s": PERIOD_S, "summary_bucket_s": 10.0}
    if shape == "meter":
        return {"hardware": hardware, "simulate": True, "resolved_hardware": profile,
                "telemetry": telemetry, "tags": tags}
    from olmo_green.config import TrainConfig

    config = TrainConfig().to_dict()
    config["model"]["name"] = model
    config["hardware"], config["simulate"], config["tags"] = hardware, True, tags
    config["max_steps"] = 30
    config["telemetry"].update(telemetry)
    config["resolved_model"] = dataclasses.asdict(OLMoConfig.from_preset(model))
    config["resolved_hardware"] = profile
    return config


def _samples(rng: np.random.Generator, devices: int, t0: float, t1: float,
             counters: np.ndarray | None, source: str) -> list[Reading]:
    """GPU power around 300 W (a counter on device 0, power only on the rest) and a CPU domain."""
    times = np.arange(t0, t1, PERIOD_S)
    readings = []
    for t in times:
        for d in range(devices):
            power_w = float(round(250.0 + 100.0 * rng.random(), 3))
            energy_j = float("nan")
            if counters is not None and d == 0:
                counters[0] += power_w * PERIOD_S
                energy_j = float(round(counters[0], 3))
            readings.append(Reading(float(t), str(d), "gpu", power_w, energy_j, source))
        readings.append(Reading(float(t), "cpu0", "cpu", float(round(60.0 + 10 * rng.random(), 3)),
                                float("nan"), source))
    return readings


def _mfu_inputs(model: str, hardware: str, devices: int) -> dict:
    """What the trainer passes with a train row on the profile's GPUs (model/trainer.py _after_step)."""
    from olmo_green.config import TrainConfig
    from olmo_green.model.metrics import flops_per_token

    config, profile = OLMoConfig.from_preset(model), load_profile(hardware)
    sequence = TrainConfig().model.sequence_length or config.max_sequence_length
    return {"flops_per_token": flops_per_token(config, sequence),
            "peak_flops_per_device": profile.peak_flops_per_device,
            "world_size": devices * profile.devices_per_package}


def _steps(first: int, last: int, t0: float, attempt: int, rng: np.random.Generator,
           mfu_inputs: dict) -> list[list]:
    """Step rows; `mfu` as the trainer's writer computes it (empty without mfu_inputs: a CPU run)."""
    rows, t = [], t0
    for step in range(first, last + 1):
        window = {"phase": "train", "tokens": TOKENS, "time_start_s": t, "time_end_s": t + STEP_S}
        mfu = window_mfu(window | mfu_inputs) if mfu_inputs else None
        rows.append([step, t, t + STEP_S, TOKENS, round(4.0 - 0.05 * step, 4), 1e-3,
                     round(1000.0 + 50 * rng.random(), 3), "train", attempt,
                     "" if mfu is None else repr(mfu)])
        # energy_j is replaced by _energy_from_samples; the draw stays so the samples, drawn
        # from the same generator after it, keep the values the golden figures were made from
        t += STEP_S
        if step % 10 == 0:
            rows.append([step, t, t + STEP_S, 0, "", "", "", "eval", attempt, ""])
            t += STEP_S
    return rows


def _energy_from_samples(rows: list[list], readings: list[Reading]) -> None:
    """Each train row's energy_j: its GPUs' power over its window, from the samples just made, as
    the meter's ledger reads it off the same sensors (so the record's parts agree)."""
    gpu = [r for r in readings if r.domain == "gpu"]
    times = np.array([r.time_s for r in gpu])
    joules = np.array([r.power_w for r in gpu]) * PERIOD_S
    for row in rows:
        if row[7] == "train":
            inside = (times >= row[1]) & (times < row[2])
            row[6] = round(float(joules[inside].sum()), 3)


def _write_attempt(run: Path, rng, devices: int, first: int, last: int, t0: float, attempt: int,
                   close: bool, source: str = "simulated", mfu_inputs: dict | None = None) -> float:
    rows = _steps(first, last, t0, attempt, rng, mfu_inputs or {})
    t1 = rows[-1][2]
    store = SampleStore(run, NODE, flush_interval_s=1e9, chunk_rows=400)  # flushes: ours only
    made: list[Reading] = []
    for start in np.arange(t0, t1, 10.0):
        block = _samples(rng, devices, start, min(start + 10.0, t1), None if devices < 4 else
                         np.zeros(1), source)
        store.append(block)
        store.flush()  # rolls a chunk at 400 rows: chunk seams fall at the same samples every time
        made += block
    _energy_from_samples(rows, made)
    if close:
        store.close()
    else:  # killed: what was flushed stays in the open chunk; no summary of it
        store.flush()
        store._file.close()  # noqa: SLF001 (a SIGKILL closes the file and nothing else)
    new = not (run / "steps.csv").exists()
    with open(run / "steps.csv", "a", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(STEP_COLUMNS)
        writer.writerows(rows)
    return t1


def _sensors_event(source: str, devices: int) -> dict:
    """The sensors event a meter writes at start (its chunks, written by SampleStore, carry the
    mark that promises it: record/chunks.py), listing the devices _samples gives."""
    counted = [f"gpu/{d}" for d in range(devices)] + ["cpu/cpu0"]
    return {"node": NODE, "kind": "sensors", "time_s": START_S, "found": [
        {"source": source, "used": True, "devices": devices + 1, "reason": "golden", "counted": counted}]}


def make_run(root: Path, name: str) -> Path:
    run = root / name
    run.mkdir(parents=True)
    if name == RESUMED:
        model, hardware, devices, seed, shape = "tiny", "mosaicml-a100", 2, 15, "train"
    else:
        model, hardware, devices, steps, seed, shape = RUNS[name]
    rng = np.random.default_rng(seed)
    config = _config(model, hardware, shape, {"stage": "pre-training", "golden": name})
    (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    if name == RESUMED:
        events = [_sensors_event("simulated", devices)]
        end = _write_attempt(run, rng, devices, 1, 12, START_S, 0, close=False)
        restart = end + 30.0
        events.append({"kind": "resume_gap", "time_s": restart, "duration_s": 30.0})
        _write_attempt(run, rng, devices, 11, 20, restart, 1, close=True)
    else:
        # a measured source for the train runs: MFU and the measured methods are reported too
        source = "simulated" if shape == "meter" else "nvml" if "a100" in hardware else "amdsmi"
        # a loop of the user's own (the meter shape) passes no FLOPs: its rows have no mfu
        inputs = _mfu_inputs(model, hardware, devices) if shape == "train" else None
        events = [_sensors_event(source, devices)]
        end = _write_attempt(run, rng, devices, 1, steps, START_S, 0, close=True, source=source,
                             mfu_inputs=inputs)
        events += [{"kind": "gap_start", "time_s": START_S + 20.0, "error": "simulated fault"},
                   {"kind": "gap_end", "time_s": START_S + 21.0, "duration_s": 1.0}]
    with open(run / "events.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(e) + "\n" for e in events)
    return run


def make_all(root: Path) -> list[Path]:
    return [make_run(root, name) for name in [*RUNS, RESUMED]]
