"""benchmarks/train_step.py keeps running: a one-step smoke run on the tiny preset."""

import subprocess
import sys
from pathlib import Path

import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "train_step.py"


def test_train_step_benchmark_prints_a_ratio_and_reports_gpu_skip():
    args = ["--preset", "tiny", "--batch", "1", "--seq", "16", "--rounds", "1", "--steps", "1",
            "--warmup", "1", "--threads", "1"]
    result = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                            timeout=1800)
    assert result.returncode == 0, result.stderr
    assert "median ratio ours/reference" in result.stdout
    if not torch.cuda.is_available():
        assert "GPU MFU: skipped" in result.stdout
