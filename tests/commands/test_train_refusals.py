"""One writer per run directory, and a refused `train` changes nothing on disk.

RUN/.lock is held (fcntl.flock) by the train writing the run; a second train on
the same directory is refused naming the holder's PID and host. A fresh train
into a directory that holds a run's records is refused, checkpoint or not.
Every refusal comes before anything is written.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from olmo_green import runlock
from olmo_green.cli import cli
from olmo_green.record import read_steps
from tests.cli_checks import one_line
from tests.holders import held_by_another_process
from tests.model.helpers import byte_data

pytestmark = pytest.mark.usefixtures("one_thread")
SMALL = ["--set", "model.sequence_length=32", "--set", "batch.global_batch_size=8", "--set", "progress=false",
         "--set", "eval_interval=0"]


def train(*args) -> object:
    return CliRunner().invoke(cli, ["train", *SMALL, *map(str, args)])  # a test's --set wins


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` and its bytes: what "nothing changed" is checked against."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def finished_run(tmp_path):
    data = byte_data(tmp_path / "data")
    run = tmp_path / "run"
    result = train("--data", data, "--run-dir", run, "--max-steps", 4, "--save-interval", 2)
    assert result.exit_code == 0, result.output
    return data, run


def test_a_second_train_is_refused_naming_the_holder_and_changes_nothing(finished_run):
    data, run = finished_run
    before = snapshot(run)
    with runlock.acquire(run):  # as a running train holds it
        text = one_line(train("--resume", "--run-dir", run, "--max-steps", 6), "being written by another")
        assert f"pid {os.getpid()}" in text and socket.gethostname() in text
        one_line(train("--data", data, "--run-dir", run, "--max-steps", 6), "being written by another")
    assert snapshot(run) == before


def test_the_lock_of_another_process_is_seen(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    take = ("from pathlib import Path\nfrom olmo_green import runlock\n"
            "lock = runlock.acquire(Path(sys.argv[1]))")
    with held_by_another_process(take, str(run)) as holder:
        text = one_line(train("--run-dir", run, "--max-steps", 1, "--simulate"), "being written by another")
        assert f"pid {holder.pid}" in text
    deadline = time.monotonic() + 120
    while runlock._holder_if_locked(run / runlock.LOCK_FILE) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runlock._holder_if_locked(run / runlock.LOCK_FILE) is None  # the kernel freed it


def test_a_fresh_train_into_a_run_is_refused_with_or_without_a_checkpoint(finished_run):
    data, run = finished_run
    before = snapshot(run)
    one_line(train("--data", data, "--run-dir", run, "--max-steps", 2, "--hardware", "lumi"),
             "already holds a run", "--resume")
    assert snapshot(run) == before
    for name in ("checkpoints", "data_order.seed6198.epoch0.npy"):
        path = run / name
        if path.is_dir():
            import shutil

            shutil.rmtree(path)
    before = snapshot(run)
    one_line(train("--data", data, "--run-dir", run, "--max-steps", 2), "already holds a run")
    assert snapshot(run) == before


def test_resume_without_a_checkpoint_rewrites_nothing(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("hardware: mosaicml-a100\nmax_steps: 5\nprogress: false\n")
    (run / "steps.csv").write_text("step,time_start_s,time_end_s\n")
    before = snapshot(run)
    one_line(CliRunner().invoke(cli, ["train", "--resume", "--run-dir", str(run), "--hardware", "h100"]),
             "trained on hardware 'mosaicml-a100'")
    one_line(CliRunner().invoke(cli, ["train", "--resume", "--run-dir", str(run)]), "no complete checkpoint")
    assert snapshot(run) == before and not (run / ".lock").exists()


@pytest.mark.parametrize("args, says", [
    (["--set", "optim.lr=nan"], "optim.lr"),
    (["--model", "huge"], "unknown model preset"),
    (["--data", "{tmp}/missing"], "does not exist"),
    (["--data", "{wide}"], "token id 300"),
    (["--set", "eval_batches=1000", "--set", "data.eval_paths=[{data}]", "--set", "eval_interval=1"],
     "eval_batches"),
    (["--set", "batch.global_batch_size=12"], "global_batch_size"),
    (["--set", "model.sequence_length=100000"], "sequence_length"),
])
def test_a_refused_train_creates_no_run_directory(tmp_path, args, says):
    data = byte_data(tmp_path / "data")
    wide = tmp_path / "wide"
    wide.mkdir()
    ids = np.arange(20_000) % 301  # ids up to 300: the tiny model's vocabulary is 257
    ids.astype(np.uint16).tofile(wide / "input_ids.npy")
    args = [a.format(tmp=tmp_path, data=data, wide=wide) for a in args]
    if "--data" not in args:
        args += ["--data", str(data)]
    run = tmp_path / "run"
    one_line(train(*args, "--run-dir", run, "--max-steps", 2), says)
    assert not run.exists()


def test_token_ids_beyond_the_vocabulary_name_the_file_and_the_largest_id(tmp_path):
    wide = tmp_path / "wide"
    wide.mkdir()
    np.full(5000, 70, np.uint16).tofile(wide / "input_ids.npy")
    ids = np.fromfile(wide / "input_ids.npy", np.uint16)
    ids[1234] = 4000
    ids.tofile(wide / "input_ids.npy")
    text = one_line(train("--data", wide, "--run-dir", tmp_path / "run", "--max-steps", 1), "token id 4,000")
    assert str(wide / "input_ids.npy") in text and "257" in text


def test_resume_from_a_named_checkpoint(finished_run):
    data, run = finished_run
    one_line(train("--resume-from", "step000009", "--run-dir", run), "no complete checkpoint 'step000009'",
             "step000002, step000004")
    result = train("--resume-from", "step000002", "--run-dir", run, "--max-steps", 3)
    assert result.exit_code == 0, result.output
    steps = read_steps(run)
    train_rows = steps[steps["phase"] == "train"]
    assert train_rows["step"].tolist() == [1, 2, 3, 4, 3]
    assert train_rows["attempt"].tolist() == [0, 0, 0, 0, 1]


def test_a_lock_file_that_is_a_symlink_is_refused_and_never_followed(finished_run, tmp_path):
    _, run = finished_run
    target = tmp_path / "precious.txt"
    target.write_text("do not truncate")
    (run / runlock.LOCK_FILE).unlink()
    (run / runlock.LOCK_FILE).symlink_to(target)
    one_line(train("--resume", "--run-dir", run, "--max-steps", 5), ".lock is a symlink", "plain file")
    assert target.read_text() == "do not truncate"


@pytest.mark.slow
def test_sigint_finishes_the_step_saves_and_exits_130(tmp_path):
    data = byte_data(tmp_path / "data")
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "olmo_green.cli", "train", *SMALL, "--data", str(data),
           "--run-dir", str(run), "--max-steps", "100000", "--save-interval", "1000"]
    proc = subprocess.Popen(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 1200
        while time.monotonic() < deadline and proc.poll() is None and not (run / "steps.csv").exists():
            time.sleep(0.2)  # the loop has started (its callbacks opened the record)
        time.sleep(2.0)  # a few steps, and no checkpoint yet (one every 1000 steps)
        assert not (run / "checkpoints").exists()
        proc.send_signal(2)  # SIGINT, as Ctrl-C sends
        output, _ = proc.communicate(timeout=1200)
    finally:
        proc.kill()
    assert proc.returncode == 130, output
    assert "interrupted" in output and "Traceback" not in output
    last = int(read_steps(run).query("phase == 'train'")["step"].max())
    assert (run / "checkpoints" / "latest").read_text().strip() == f"step{last:06d}"
