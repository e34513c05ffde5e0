"""A real `olmo-green train` process stopped by SIGTERM saves, closes and exits with 143."""

import os
import signal
import subprocess
import sys
import time

import pytest

from olmo_green.record import read_steps
from tests.model.helpers import byte_data


@pytest.mark.slow
def test_sigterm_to_the_process_saves_a_checkpoint_and_exits_143(tmp_path):
    data = byte_data(tmp_path / "data")
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "olmo_green.cli", "train", "--data", str(data), "--run-dir", str(run),
           "--max-steps", "100000", "--save-interval", "2", "--set", "model.sequence_length=32",
           "--set", "progress=false"]
    proc = subprocess.Popen(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 1200
        latest = run / "checkpoints" / "latest"
        while not latest.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)  # wait until it is training (a first checkpoint at step 2)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=1200)
    finally:
        proc.kill()
    assert proc.returncode == 143, output
    assert "preempted" in output
    steps = read_steps(run)  # written by the energy meter, closed on SIGTERM
    last_train = int(steps[steps["phase"] == "train"]["step"].max())
    assert latest.read_text().strip() == f"step{last_train:06d}"  # the step in flight was saved
