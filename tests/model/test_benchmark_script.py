"""benchmarks/train_step.py keeps running: one-step smoke runs on the tiny preset, and on an OLMo 2
preset against Olmo2ForCausalLM."""

import subprocess
import sys
from pathlib import Path

import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "train_step.py"


def smoke_run(preset: str) -> str:
    """The benchmark's stdout for one step of `preset` (batch 1, 16 tokens, one thread)."""
    args = ["--preset", preset, "--batch", "1", "--seq", "16", "--rounds", "1", "--steps", "1",
            "--warmup", "1", "--threads", "1"]
    result = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                            timeout=1800)
    assert result.returncode == 0, result.stderr
    assert "median ratio ours/reference" in result.stdout
    return result.stdout


def test_train_step_benchmark_prints_a_ratio_and_reports_gpu_skip():
    out = smoke_run("tiny")
    if not torch.cuda.is_available():
        assert "GPU MFU: skipped" in out


def test_train_step_benchmark_runs_olmo2_tiny_against_olmo2_for_causal_lm():
    out = smoke_run("olmo2-tiny")
    assert "olmo2-tiny against Olmo2ForCausalLM" in out
    # same weights, same batch: the first losses agree (the weights went through our HF writer)
    first = next(line for line in out.splitlines() if line.startswith("first-step loss"))
    ours, reference = (float(part.split()[-1]) for part in first.split(","))
    assert abs(ours - reference) < 1e-4
