"""benchmarks/train_step.py compares an OLMo 2 preset with Olmo2ForCausalLM: a one-step smoke run."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "train_step.py"


def test_train_step_benchmark_runs_olmo2_tiny_against_olmo2_for_causal_lm():
    args = ["--preset", "olmo2-tiny", "--batch", "1", "--seq", "16", "--rounds", "1", "--steps", "1",
            "--warmup", "1", "--threads", "1"]
    result = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                            timeout=1800)
    assert result.returncode == 0, result.stderr
    assert "olmo2-tiny against Olmo2ForCausalLM" in result.stdout
    assert "median ratio ours/reference" in result.stdout
    # same weights, same batch: the first losses agree (the weights went through our HF writer)
    first = next(line for line in result.stdout.splitlines() if line.startswith("first-step loss"))
    ours, reference = (float(part.split()[-1]) for part in first.split(","))
    assert abs(ours - reference) < 1e-4
