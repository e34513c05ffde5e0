"""Checkpoints that cannot be read or written: one line, and the previous checkpoint stays usable.

A corrupt or truncated checkpoint names itself and the previous complete one
(`--resume-from stepNNNNNN`), exit code 2. A checkpoint that cannot be written
stops the run with one line and exit code 1; the previous checkpoint is intact
and the run resumes from it.
"""

from __future__ import annotations

import errno
import os

import pytest
import torch
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.model import checkpoint as ckpt
from tests.model.helpers import byte_data

pytestmark = pytest.mark.usefixtures("one_thread")
SMALL = ["--set", "model.sequence_length=32", "--set", "batch.global_batch_size=8", "--set", "progress=false",
         "--set", "eval_interval=0"]


def train(*args):
    return CliRunner().invoke(cli, ["train", *SMALL, *map(str, args)])


def one_line(result, code: int, *needles: str) -> str:
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def run(tmp_path):
    """A finished run with complete checkpoints at steps 2 and 4 (keep_checkpoints 2)."""
    run = tmp_path / "run"
    result = train("--data", byte_data(tmp_path / "data"), "--run-dir", run, "--max-steps", 4,
                   "--save-interval", 2)
    assert result.exit_code == 0, result.output
    return run


def corrupt(path, how: str) -> None:
    data = path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) // 2], "empty": b"", "garbage": os.urandom(len(data)),
                      "plain_text": b"not a checkpoint\n"}[how])


@pytest.mark.parametrize("how", ["truncated", "empty", "garbage", "plain_text"])
@pytest.mark.parametrize("name", ["model_optim.pt", "rank0.pt"])
def test_a_corrupt_checkpoint_names_itself_and_the_previous_one(run, how, name):
    corrupt(run / "checkpoints" / "step000004" / name, how)
    line = one_line(train("--resume", "--run-dir", run, "--max-steps", 6), 2, f"step000004/{name}",
                    "--resume-from step000002")
    assert "corrupt" in line or "not a" in line
    result = train("--resume-from", "step000002", "--run-dir", run, "--max-steps", 5)  # the offer works
    assert result.exit_code == 0, result.output


def test_the_oldest_checkpoint_corrupt_says_there_is_none_before_it(run):
    corrupt(run / "checkpoints" / "step000002" / "model_optim.pt", "truncated")
    one_line(train("--resume-from", "step000002", "--run-dir", run), 2, "no earlier checkpoint")


def test_a_checkpoint_without_its_model_file_is_incomplete(run):
    (run / "checkpoints" / "step000004" / "model_optim.pt").unlink()
    result = train("--resume", "--run-dir", run, "--max-steps", 6)
    one_line(result, 2, "incomplete", "--resume-from step000002")


def test_a_checkpoint_of_another_model_says_so(run):
    one_line(train("--resume", "--run-dir", run, "--model", "small", "--max-steps", 6), 2,
             "do not fit this model")


def test_a_rank_state_without_a_step_is_refused(run):
    torch.save({"callbacks": []}, run / "checkpoints" / "step000004" / "rank0.pt")
    one_line(train("--resume", "--run-dir", run, "--max-steps", 6), 2, "not a trainer state",
             "--resume-from step000002")


@pytest.mark.parametrize("step", [-7, "abc", 2.5, True])
def test_a_rank_state_with_a_bad_step_is_refused_before_any_row_is_written(run, step):
    state = torch.load(run / "checkpoints" / "step000004" / "rank0.pt", weights_only=True)
    state["step"] = step
    torch.save(state, run / "checkpoints" / "step000004" / "rank0.pt")
    rows = (run / "steps.csv").read_text()
    one_line(train("--resume", "--run-dir", run, "--max-steps", 6), 2, "is not a step number")
    assert (run / "steps.csv").read_text() == rows


def test_resuming_a_finished_run_is_refused(run):
    rows = (run / "steps.csv").read_text()
    one_line(train("--resume", "--run-dir", run), 2, "step000004 is at step 4", "nothing to train")
    assert (run / "steps.csv").read_text() == rows


def test_resuming_on_other_hardware_is_refused(run):
    config = (run / "config.yaml").read_text()
    one_line(train("--resume", "--run-dir", run, "--max-steps", 6, "--hardware", "h100"), 2,
             "trained on hardware 'local'")
    assert (run / "config.yaml").read_text() == config


def test_latest_pointing_outside_the_checkpoints_is_not_followed(run, tmp_path):
    (run / "checkpoints" / "latest").write_text("../../elsewhere\n")
    (tmp_path / "elsewhere").mkdir()
    result = train("--resume", "--run-dir", run, "--max-steps", 5)
    assert result.exit_code == 2 and "no complete checkpoint" in result.output, result.output


def test_a_checkpoint_that_cannot_be_written_stops_the_run_and_keeps_the_previous(tmp_path, monkeypatch):
    run = tmp_path / "run"
    real_save = torch.save
    calls = {"n": 0}

    def failing_save(obj, f, *args, **kwargs):
        if str(f).endswith("model_optim.pt"):
            calls["n"] += 1
            if calls["n"] == 2:  # the second checkpoint: the disk is full
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", failing_save)
    result = train("--data", byte_data(tmp_path / "data"), "--run-dir", run, "--max-steps", 6,
                   "--save-interval", 2)
    one_line(result, 1, "cannot write checkpoint", "step000004", "No space left", "step000002 is intact",
             "--resume")
    folder = run / "checkpoints"
    assert [p.name for p in folder.iterdir() if p.is_dir()] == ["step000002"]  # no .partial left
    assert ckpt.latest_checkpoint(folder) == folder / "step000002"
    monkeypatch.setattr(torch, "save", real_save)
    resumed = train("--resume", "--run-dir", run, "--max-steps", 4)
    assert resumed.exit_code == 0, resumed.output


def test_a_torch_save_runtime_error_is_a_write_failure_too(tmp_path, monkeypatch):
    """torch.save reports a full disk as a RuntimeError from its zip writer."""
    def broken(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 2565376 vs 2565264")

    monkeypatch.setattr(torch, "save", broken)
    result = train("--data", byte_data(tmp_path / "data"), "--run-dir", tmp_path / "run", "--max-steps", 2)
    one_line(result, 1, "cannot write checkpoint", "no checkpoint was kept")
    assert not list((tmp_path / "run" / "checkpoints").glob("*.partial"))
