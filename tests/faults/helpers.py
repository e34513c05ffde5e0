"""Shared pieces of the fault tests: a training-like loop around a meter, and record checks."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from olmo_green import record as rr
from olmo_green.reports import account_run
from olmo_green.telemetry import EnergyMeter

STEP_S = 0.01  # one "optimizer step" of the fake loop


def open_meter(run_dir: Path, sources: list, hardware: str = "h100") -> EnergyMeter:
    """A meter sampling every 5 ms and flushing every 20 ms, so a test's faults land mid-record."""
    meter = EnergyMeter(run_dir=run_dir, hardware=hardware, sources=sources, sampling_interval_s=0.005,
                        flush_interval_s=0.02)
    return meter.start()


def train(meter: EnergyMeter, steps: int, between: Callable[[int], None] | None = None) -> None:
    """`steps` fake optimizer steps; `between(step)` runs after each (to move a fake sensor)."""
    for _ in range(steps):
        time.sleep(STEP_S)
        meter.step(tokens=64, loss=1.0)
        if between is not None:
            between(meter.last_step)


def flushed(run_dir: Path) -> pd.DataFrame:
    """What the record holds on disk now (wait one flush interval first)."""
    time.sleep(0.05)
    return rr.read_samples(run_dir)


def assert_kept(before: pd.DataFrame, after: pd.DataFrame) -> None:
    """Every row flushed before the fault is still in the record, unchanged."""
    keys = ["device", "time_s", "power_w"]
    merged = before[keys].merge(after[keys], how="left", on=["device", "time_s"], suffixes=("", "_after"),
                                indicator=True)
    assert (merged["_merge"] == "both").all(), "rows flushed before the fault are gone"
    assert merged["power_w"].equals(merged["power_w_after"])


def train_steps(run_dir: Path) -> list[int]:
    steps = rr.read_steps(run_dir)
    return steps.loc[steps["phase"] == "train", "step"].astype(int).tolist()


def event_kinds(run_dir: Path) -> list[str]:
    return [e["kind"] for e in rr.read_events(run_dir)]


def report(run_dir: Path):
    return account_run(run_dir, pue=1.0, intensity_kg_per_kwh=0.5)
