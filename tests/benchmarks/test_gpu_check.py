"""benchmarks/gpu_check.py: its plan rehearsed on CPU (--dry-run), and a runner that never hangs."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import gpu_check  # noqa: E402 - a script, imported from its folder


@pytest.mark.slow
def test_the_dry_run_runs_every_item_and_writes_the_markdown(tmp_path, monkeypatch, capsys):
    # The plan's budgets are a GPU node's limits; on a loaded 2-core machine a dry-run item once
    # passed its 105 s. Here every budget is 10x: they only catch a hang, never a slow machine.
    planned = gpu_check.plan
    monkeypatch.setattr(gpu_check, "plan", lambda dry_run: [
        dataclasses.replace(item, budget_s=10 * item.budget_s) for item in planned(dry_run)])
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # 2 shared cores
    out = tmp_path / "out"
    assert gpu_check.main(["--dry-run", "--out", str(out), "--budget-s", "6000"]) == 0
    printed = capsys.readouterr().out
    text = (out / "gpu_check.md").read_text()
    assert printed.strip() == text.strip()
    for name in ("sensors", "train-eager", "train-compiled", "train-compiled-ac", "overhead", "report"):
        assert f"| {name} | ok |" in text
        assert (out / "items" / f"{name}.json").exists()
    trained = {label: json.loads((out / "items" / f"train-{label}.json").read_text())
               for label in ("eager", "compiled", "compiled-ac")}
    for result in trained.values():
        assert result["tokens_per_s"] > 0 and result["j_per_token"] > 0 and result["steps"] >= 1
        assert result["mfu"] is None  # no GPU: no MFU against a GPU's peak
        polled = result["counter_vs_polled"]
        assert polled["10ms"]["samples"] > polled["100ms"]["samples"] > 0  # a loaded CPU polls late
        assert abs(polled["10ms"]["diff_pct"]) < 25 and abs(polled["100ms"]["diff_pct"]) < 50
    report = json.loads((out / "items" / "report.json").read_text())
    assert report["relative_diff"] < 1e-4 and report["method"] == "modelled"
    assert (out / "dashboard.html").stat().st_size > 1000
    overhead = json.loads((out / "items" / "overhead.json").read_text())
    assert len(overhead["tokens_per_s"]["bare"]) == len(overhead["tokens_per_s"]["meter"]) == 4
    assert "dry run" in text and "simulated" in text


def test_an_item_past_its_budget_is_killed_and_recorded(tmp_path):
    outcome = gpu_check.run_isolated([sys.executable, "-c", "import time; time.sleep(60)"],
                                     tmp_path / "none.json", budget_s=1.0, name="hangs")
    assert outcome.status == "timed out" and outcome.seconds < 50  # killed, not slept out (60 s)
    assert "killed after 1 s" in outcome.detail


def test_an_item_that_crashes_is_recorded_with_its_last_error_line(tmp_path):
    outcome = gpu_check.run_isolated([sys.executable, "-c", "raise RuntimeError('CUDA error: boom')"],
                                     tmp_path / "none.json", budget_s=30, name="crashes")
    assert outcome.status == "failed" and "CUDA error: boom" in outcome.detail


def test_a_failed_item_shows_in_the_markdown_and_the_others_still_report():
    outcomes = [gpu_check.Outcome("sensors", "failed", 1.0, detail="exit 1: no NVML"),
                gpu_check.Outcome("overhead", "ok", 9.0, {"ratio_meter_over_bare": 0.995, "overhead_pct": 0.5,
                                                          "steps_per_segment": 5})]
    text = gpu_check.markdown(outcomes, dry_run=True)
    assert "| sensors | failed | 1 | exit 1: no NVML |" in text
    assert "0.9950 (overhead +0.50 %)" in text


def test_the_simulated_counter_is_the_integral_of_its_power():
    probe = gpu_check.PowerProbe.simulated(high_w=600.0, low_w=200.0, period_s=0.2)
    with gpu_check.Pollers(probe) as pollers:
        import time

        time.sleep(1.0)
    result = pollers.comparison()
    assert result["counter_j"] == pytest.approx(400.0 * result["seconds"], rel=0.15)  # mean power 400 W
    assert abs(result["10ms"]["diff_pct"]) < 10


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal without a GPU")
def test_without_a_gpu_the_real_run_refuses_and_points_to_the_dry_run(capsys):
    assert gpu_check.main([]) == 2
    assert "--dry-run" in capsys.readouterr().err
