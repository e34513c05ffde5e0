"""async_checkpoint: saves written in the background, published only once complete."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from olmo_green import record as rr
from olmo_green.cli import cli
from olmo_green.model import checkpoint as ckpt
from olmo_green.model import checkpoint_async
from olmo_green.model.callbacks import Callback
from tests.model.helpers import byte_data, make_trainer, small_config, train_losses

pytestmark = pytest.mark.usefixtures("one_thread")
ROOT = Path(__file__).resolve().parents[2]


class Writes(Callback):
    """Records the hooks around checkpoints."""

    def __init__(self):
        self.hooks = []

    def post_checkpoint(self, step, path):
        latest = ckpt.latest_checkpoint(Path(path).parent)
        self.hooks.append(("saved", step, latest.name if latest else None))

    def post_checkpoint_write(self, step, duration_s):
        self.hooks.append(("written", step, duration_s))


def test_a_run_resumed_from_async_checkpoints_equals_an_uninterrupted_one_bitwise(tmp_path):
    data = byte_data(tmp_path / "data")
    fixed = ["schedule.t_max=8", "save_interval=2"]  # the schedule does not depend on max_steps
    make_trainer(small_config(data, "max_steps=8", *fixed), tmp_path / "whole").fit()

    writes = Writes()
    cut = make_trainer(small_config(data, "max_steps=5", "async_checkpoint=true", *fixed), tmp_path / "cut",
                       [writes])
    assert cut.fit() == "completed"
    saved = [h for h in writes.hooks if h[0] == "saved"]
    written = [h[:2] for h in writes.hooks if h[0] == "written"]
    assert written == [("written", 2), ("written", 4)]  # steps 2 and 4 in the background, 5 (last) not
    assert all(duration_s > 0 for *_, duration_s in (h for h in writes.hooks if h[0] == "written"))
    # while step 4 was being written, latest still named step 2
    assert saved == [("saved", 2, None), ("saved", 4, "step000002"), ("saved", 5, "step000005")]

    folder = tmp_path / "cut" / "checkpoints"
    assert not list(folder.glob("*.partial"))
    torch.manual_seed(999)  # disturb the RNG: the checkpoint must restore it
    resumed = make_trainer(small_config(data, "max_steps=8", "async_checkpoint=true", *fixed),
                           tmp_path / "cut")
    resumed.restore(folder / "step000004")
    assert resumed.fit() == "completed"

    whole, again = train_losses(tmp_path / "whole"), train_losses(tmp_path / "cut")
    assert len(whole) == len(again) == 8 and whole[-1] < whole[0]
    assert again == whole  # bit for bit


def test_the_host_copy_shares_no_storage_with_the_live_state():
    weight = torch.ones(3)
    state = {"model": {"w": weight}, "optim": {"state": {0: {"step": torch.tensor(1.0)}},
                                               "param_groups": [{"lr": 0.1, "params": [0]}]}}
    copy = checkpoint_async.to_host(state)
    weight.add_(1.0)
    state["optim"]["param_groups"][0]["lr"] = 0.2
    assert copy["model"]["w"].tolist() == [1.0, 1.0, 1.0]
    assert copy["optim"]["param_groups"][0]["lr"] == 0.1


def test_a_failed_background_write_stops_the_run_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    data = byte_data(tmp_path / "data")
    real = checkpoint_async.write_model_optim

    def full_disk(state, path):
        if "step000004" in str(path):
            raise OSError(28, "No space left on device")
        real(state, path)

    monkeypatch.setattr(checkpoint_async, "write_model_optim", full_disk)
    trainer = make_trainer(small_config(data, "max_steps=6", "save_interval=2", "async_checkpoint=true"),
                           tmp_path / "run")
    with pytest.raises(ckpt.CheckpointWriteError, match="No space left.*step000002 is intact"):
        trainer.fit()
    folder = tmp_path / "run" / "checkpoints"
    assert ckpt.latest_checkpoint(folder).name == "step000002"
    assert not list(folder.glob("*.partial"))


def _train(run: Path, *args: str, hang_at: tuple[int, Path] | None = None) -> subprocess.Popen:
    args = ["train", "--model", "tiny", "--hardware", "lumi", "--simulate", "--run-dir", str(run),
            "--set", "model.sequence_length=32", "--set", "progress=false", "--set", "async_checkpoint=true",
            "--set", "telemetry.sampling_interval_s=0.02", "--set", "eval_interval=0", *args]
    prefix = ["-m", "olmo_green.cli"] if hang_at is None else \
        ["-m", "tests.model.async_write_hangs", str(hang_at[0]), str(hang_at[1]), "--"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, *prefix, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_a_kill_during_an_async_write_leaves_a_run_resumable_from_the_previous_checkpoint(tmp_path):
    run, marker = tmp_path / "run", tmp_path / "writing"
    proc = _train(run, "--max-steps", "8", "--save-interval", "2", hang_at=(4, marker))
    deadline = time.monotonic() + 1800
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the write of step 4 never began"
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=300)

    folder = run / rr.CHECKPOINTS_DIR
    assert ckpt.latest_checkpoint(folder).name == "step000002"  # not the half-written step 4
    assert (folder / "step000004.partial").is_dir() and not (folder / "step000004").exists()

    resumed = _train(run, "--resume", "--max-steps", "6", "--save-interval", "2")
    _, stderr = resumed.communicate(timeout=1800)
    assert resumed.returncode == 0, stderr
    assert ckpt.latest_checkpoint(folder).name == "step000006"
    assert not list(folder.glob("*.partial"))  # the next save removed the debris
    steps = rr.read_steps(run)
    assert set(range(1, 7)) <= set(steps.loc[steps["phase"] == "train", "step"].astype(int))
    writes = [e for e in rr.read_events(run) if e["kind"] == rr.EVENT_CHECKPOINT_WRITE]
    assert [e["step"] for e in writes] == [2, 4]  # before the kill: 2; after the resume: 4 (6 is last)
    assert CliRunner().invoke(cli, ["report", str(run)]).exit_code == 0


def test_the_checkpoint_window_covers_only_the_blocked_time(tmp_path, monkeypatch):
    """With telemetry: a slow background write is a checkpoint_write event, not a long window."""
    from olmo_green.config import apply_overrides
    from olmo_green.model.build import build_parts
    from olmo_green.model.distributed import DistEnv
    from olmo_green.model.trainer import Trainer
    from olmo_green.telemetry.callback import EnergyCallback

    real = checkpoint_async.write_model_optim

    def slow(state, path):
        time.sleep(1.0)
        real(state, path)

    monkeypatch.setattr(checkpoint_async, "write_model_optim", slow)
    data = byte_data(tmp_path / "data")
    config = apply_overrides(small_config(data), ["max_steps=12", "save_interval=4", "async_checkpoint=true"])
    run = tmp_path / "run"
    run.mkdir()
    meter = EnergyCallback(hardware="lumi", simulate=True, sampling_interval_s=0.02)
    Trainer(build_parts(config, run, torch.device("cpu"), DistEnv(), [meter])).fit()

    writes = [e for e in rr.read_events(run) if e["kind"] == rr.EVENT_CHECKPOINT_WRITE]
    assert [e["step"] for e in writes] == [4, 8] and all(e["duration_s"] >= 1.0 for e in writes)
    steps = rr.read_steps(run)
    windows = steps[steps["phase"] == "checkpoint"].set_index("step")
    blocked_s = windows["time_end_s"] - windows["time_start_s"]
    assert (blocked_s.loc[[4]] < 0.5).all()  # training waited for the copy, not for the 1 s write
