"""`olmo-green train --simulate` in a child process, stopped as a scheduler stops it.

SIGTERM (SLURM preemption): the step in flight finishes, a checkpoint is saved,
the record is closed, and the exit code is 143. SIGKILL (no warning): a
`--resume` continues the same record, and `olmo-green report` covers both parts
with the time between them shown as a gap.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from olmo_green import record as rr
from olmo_green.cli import cli
from olmo_green.integrate import curves_from_samples
from olmo_green.model import checkpoint as ckpt
from tests.faults.helpers import assert_kept, train_steps

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--set", "model.sequence_length=32", "--set", "batch.global_batch_size=8", "--set", "progress=false",
         "--set", "telemetry.sampling_interval_s=0.02"]


def start_train(run_dir: Path, *args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "olmo_green.cli", "train", "--model", "tiny", "--hardware", "lumi",
               "--simulate", "--run-dir", str(run_dir), *args, *SMALL]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # two cores shared with the test runner
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for(condition, proc: subprocess.Popen, timeout_s: float = 1200.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "training made no progress"
        time.sleep(0.1)


def gpu_energy_j(samples) -> float:
    return sum(c.total_j for c in curves_from_samples(samples) if c.domain == "gpu")


def test_sigterm_during_simulated_training_closes_the_telemetry_record_and_exits_143(tmp_path):
    """tests/commands/test_train_sigterm.py covers the checkpoint without telemetry; this adds the record."""
    run = tmp_path / "run"
    proc = start_train(run, "--max-steps", "100000", "--save-interval", "1000")
    wait_for(lambda: len(train_steps(run)) >= 3 if (run / rr.STEPS_FILE).exists() else False, proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=1200)

    assert proc.returncode == 143, stderr
    assert "preempted" in stderr and "--resume" in stderr and "Traceback" not in stderr
    latest = ckpt.latest_checkpoint(run / rr.CHECKPOINTS_DIR)
    assert latest is not None and ckpt.step_name(max(train_steps(run))) == latest.name
    node = rr.node_names(run)[0]
    assert not rr.open_chunk_path(run, node).exists()  # the record was closed: rolled to Parquet
    assert rr.chunk_path(run, node, 0).exists()


def test_sigkill_then_resume_gives_a_report_covering_both_parts(tmp_path):
    run = tmp_path / "run"
    proc = start_train(run, "--max-steps", "100000", "--save-interval", "3")
    # Samples are flushed every 2 s (the default): wait for some, past a checkpoint, then kill.
    wait_for(lambda: ckpt.latest_checkpoint(run / rr.CHECKPOINTS_DIR) is not None
             and len(train_steps(run)) >= 5 and len(rr.read_samples(run)) >= 40, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=300)
    before = rr.read_samples(run)  # what the killed run had flushed
    assert rr.open_chunk_path(run, rr.node_names(run)[0]).exists()  # killed mid-chunk
    resumed_from = int(ckpt.latest_checkpoint(run / rr.CHECKPOINTS_DIR).name.removeprefix("step"))

    resumed = start_train(run, "--resume", "--max-steps", str(resumed_from + 3))
    _, stderr = resumed.communicate(timeout=1800)
    assert resumed.returncode == 0, stderr

    after = rr.read_samples(run)
    assert_kept(before, after)
    result = CliRunner().invoke(cli, ["report", str(run), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)["runs"][0]
    second_part_j = gpu_energy_j(after[after["time_s"] > before["time_s"].max()])
    assert second_part_j > 0
    assert report["gpu_energy_mwh"] * 3.6e9 >= (gpu_energy_j(before) + second_part_j) * (1 - 1e-9)
    assert report["gaps"]["events"] >= 1 and report["gaps"]["event_s"] > 0  # the time it was down
    assert set(range(1, resumed_from + 4)) <= set(train_steps(run))
