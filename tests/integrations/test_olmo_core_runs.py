"""The example script as a user runs it: killed and resumed, and on two processes (gloo)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from olmo_green import record as rr
from olmo_green.reports import account_run
from tests.integrations.olmo_core_helpers import EXAMPLE, ROOT, kill_when, record_total_j, run_example

pytest.importorskip("olmo_core", reason="ai2-olmo-core is in the test extra: pip install -e '.[test]'")
TOKENS_PER_STEP = 8 * 256
COMMON = ["--hardware", "lumi", "--simulate", "--save-interval", "5", "--sampling-interval-s", "0.05"]


def _complete(run_dir, step: int) -> bool:
    """OLMo-core writes a checkpoint's .metadata.json last: then the checkpoint is complete."""
    return (run_dir / "checkpoints" / f"step{step}" / ".metadata.json").exists()


def _train_rows(run_dir) -> int:
    steps = rr.read_steps(run_dir)
    return int((steps["phase"] == "train").sum()) if len(steps) else 0


def _energy_before_save(rows, step: int) -> float:
    """Energy of the rows that ended before the save at `step` began (what its state holds)."""
    save_s = rows.loc[(rows["phase"] == "checkpoint") & (rows["step"] == step), "time_start_s"].item()
    return rows.loc[rows["time_end_s"] <= save_s, "energy_j"].sum()


def test_a_killed_run_resumes_and_the_record_and_totals_continue(tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, str(EXAMPLE), "--run-dir", str(run_dir), "--steps", "1000",
                             *COMMON], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kill_when(proc, lambda: _complete(run_dir, 10) and _train_rows(run_dir) >= 12)
    killed_rows = rr.read_steps(run_dir)

    result = run_example("--run-dir", str(run_dir), "--steps", "20", *COMMON)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| run | MI250X (LUMI supercomputer) |" in result.stdout  # the report's table, printed

    steps = rr.read_steps(run_dir)
    assert set(steps["attempt"]) == {0, 1}
    train = steps[steps["phase"] == "train"]
    resumed_from = int(train.loc[train["attempt"] == 1, "step"].min()) - 1
    assert resumed_from in (10, 15) and _complete(run_dir, resumed_from)
    assert train.loc[train["attempt"] == 1, "step"].tolist() == list(range(resumed_from + 1, 21))
    redone = rr.superseded_steps(steps)
    assert redone.any() and (steps.loc[redone, "step"] > resumed_from).all()
    assert len(steps[steps["attempt"] == 0]) == len(killed_rows)  # the first attempt's rows all stay

    account = account_run(run_dir)  # both attempts: the energy of redone steps counts, their tokens once
    assert account.tokens == 20 * TOKENS_PER_STEP
    assert account.gpu_energy_j == pytest.approx(record_total_j(run_dir), rel=1e-9)
    gaps = [e for e in rr.read_events(run_dir) if e["kind"] == "resume_gap"]
    assert len(gaps) == 1
    # The kill lost the samples not yet flushed (at most the flush interval), not the step rows: the
    # samples cover the first attempt's rows up to the last flushed sample, and all of the second's.
    first = steps[steps["attempt"] == 0]
    flushed_j = first.loc[first["time_end_s"] <= gaps[0]["time_s"], "energy_j"].sum()
    covered_j = flushed_j + steps.loc[steps["attempt"] == 1, "energy_j"].sum()
    assert covered_j * 0.999 <= account.gpu_energy_j <= steps["energy_j"].sum() * 1.001

    # The totals restored from the checkpoint went on: the final checkpoint's state holds the first
    # attempt's energy up to the checkpoint it resumed from, plus the second attempt's before the save.
    state = torch.load(run_dir / "checkpoints" / "step20" / "train" / "rank0.pt", weights_only=False)
    saved_j = sum(state["callbacks"]["energy"]["phase_j"].values())
    first, second = steps[steps["attempt"] == 0], steps[steps["attempt"] == 1]
    expected_j = _energy_before_save(first, resumed_from) + _energy_before_save(second, 20)
    assert saved_j == pytest.approx(expected_j, rel=1e-9)


def test_two_processes_one_sampler_per_node_one_step_row_per_step(tmp_path):
    run_dir = tmp_path / "run"
    result = run_example("--run-dir", str(run_dir), "--steps", "6", *COMMON, torchrun=2)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("| run | MI250X (LUMI supercomputer) |") == 1  # printed by rank 0 only
    assert len(rr.node_names(run_dir)) == 1  # both ranks on this host: one sampler
    assert len([e for e in rr.read_events(run_dir) if e["kind"] == "sensors"]) == 1
    steps = rr.read_steps(run_dir)
    train = steps[steps["phase"] == "train"]
    assert train["step"].tolist() == list(range(1, 7)) and (train["tokens"] == TOKENS_PER_STEP).all()
    assert steps.loc[steps["phase"] == "checkpoint", "step"].tolist() == [0, 5, 6]
    assert steps["energy_j"].sum() == pytest.approx(record_total_j(run_dir), rel=1e-3)
