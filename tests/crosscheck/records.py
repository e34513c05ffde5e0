"""Simulated records to tamper with, and how to read a verdict from them."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from olmo_green import record as rr
from olmo_green.cli import cli
from olmo_green.reports import account_run
from olmo_green.telemetry.meter import EnergyMeter
from tests.simulated_runs import STEP_S, TOKENS, steady_run

__all__ = ["chunks", "first_chunk", "node_run", "report", "steady_run", "verify"]


def node_run(run_dir: Path, node: str, steps: int = 6) -> None:
    """One node's steady simulated steps (a multi-node record is several of these)."""
    with EnergyMeter(run_dir, "lumi", simulate=True, sampling_interval_s=0.01, node=node) as meter:
        for _ in range(steps):
            time.sleep(STEP_S)
            meter.step(tokens=TOKENS, loss=3.0, lr=1e-3)


def chunks(run_dir: Path) -> list[Path]:
    return [p for paths in rr.chunk_listing(run_dir).values() for p in paths]


def first_chunk(run_dir: Path) -> tuple[Path, pd.DataFrame]:
    path = chunks(run_dir)[0]
    return path, rr.read_sample_chunk(path)[0]


def verify(*run_dirs: Path):
    """`report --verify`: (exit code, output)."""
    result = CliRunner().invoke(cli, ["report", *map(str, run_dirs), "--verify"])
    return result.exit_code, result.output


def report(*args: str):
    result = CliRunner().invoke(cli, ["report", *map(str, args)])
    return result.exit_code, result.output


def gpu_j(run_dir: Path) -> float:
    return account_run(run_dir).gpu_energy_j
