"""`olmo-green train` end to end on tiny data: the run record, falling loss, clear errors."""

import numpy as np
import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.commands import train as train_command
from olmo_green.record import read_steps
from tests.model.helpers import byte_data

pytestmark = pytest.mark.usefixtures("one_thread")
SMALL = ["--set", "model.sequence_length=32", "--set", "batch.global_batch_size=8",
         "--set", "optim.lr=3e-3", "--set", "schedule.warmup_steps=2", "--set", "progress=false"]


def train(*args):
    return CliRunner().invoke(cli, ["train", *map(str, args), *SMALL])


def test_train_writes_the_run_record_and_the_loss_falls(tmp_path):
    data = byte_data(tmp_path / "data")
    run = tmp_path / "run"
    result = train("--data", data, "--run-dir", run, "--max-steps", 12, "--save-interval", 6)
    assert result.exit_code == 0, result.output
    assert (run / "config.yaml").exists() and (run / "checkpoints" / "step000012").is_dir()
    steps = read_steps(run)
    losses = steps[steps["phase"] == "train"]["loss"].tolist()
    assert len(losses) == 12 and losses[-1] < losses[0] - 0.5
    assert "resolved_hardware" in (run / "config.yaml").read_text()

    result = train("--run-dir", run, "--resume", "--max-steps", 14)
    assert result.exit_code == 0, result.output
    steps = read_steps(run)
    assert steps[steps["phase"] == "train"]["step"].tolist() == list(range(1, 15))


def test_simulate_fills_energy_through_the_telemetry_callback(tmp_path):
    data = byte_data(tmp_path / "data")
    result = train("--data", data, "--run-dir", tmp_path / "run", "--max-steps", 2,
                   "--hardware", "lumi", "--simulate")
    assert result.exit_code == 0, result.output
    steps = read_steps(tmp_path / "run")
    assert (steps[steps["phase"] == "train"]["energy_j"] > 0).all()


def _odd_file(tmp_path):
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "input_ids.npy").write_bytes(b"\x00" * 4097)
    return tmp_path / "odd"


def _short_mask(tmp_path):
    folder = byte_data(tmp_path / "masked")
    np.ones(10, dtype=np.bool_).tofile(folder / "label_mask.npy")
    return folder


@pytest.mark.parametrize("args, says", [
    (["--model", "huge"], "unknown model preset"),
    (["--set", "optim.lrr=1"], "optim.lrr"),
    (["--data", "{tmp}/missing"], "does not exist"),
    (["--data", "odd"], "multiple of the token size"),
    (["--data", "short_mask"], "one byte per token"),
    (["--hardware", "nowhere"], "unknown hardware profile"),
])
def test_bad_input_is_one_line_with_exit_code_2(tmp_path, args, says):
    fixtures = {"odd": lambda: _odd_file(tmp_path), "short_mask": lambda: _short_mask(tmp_path)}
    args = [str(fixtures[a]()) if a in fixtures else a.format(tmp=tmp_path) for a in args]
    result = train(*args, "--run-dir", tmp_path / "run", "--max-steps", 1)
    assert result.exit_code == 2, result.output
    assert says in result.output and "Traceback" not in result.output


def test_a_preempted_run_exits_with_the_sigterm_code(monkeypatch):
    monkeypatch.setattr(train_command, "run_training", lambda **options: "preempted")
    result = CliRunner().invoke(cli, ["train"])
    assert result.exit_code == train_command.PREEMPTED_EXIT_CODE == 143


def test_progress_bar_shows_live_power_energy_and_emissions(tmp_path):
    data = byte_data(tmp_path / "data")
    args = ["train", "--data", str(data), "--run-dir", str(tmp_path / "run"), "--max-steps", "2",
            "--hardware", "mosaicml-a100", "--simulate", *SMALL, "--set", "progress=true"]
    # A wide terminal: at rich's default 80 columns a longer tok/s figure cut the line's end
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert " W " in result.output and "kWh" in result.output and "kg CO2e (location" in result.output


def test_simulated_run_has_eval_windows_with_loss_and_energy(tmp_path):
    data, held_out = byte_data(tmp_path / "data"), byte_data(tmp_path / "eval", n_tokens=4_000, seed=3)
    result = train("--data", data, "--run-dir", tmp_path / "run", "--max-steps", 4, "--hardware", "lumi",
                   "--simulate", "--set", "eval_interval=2", "--set", f"data.eval_paths=[{held_out}]")
    assert result.exit_code == 0, result.output
    steps = read_steps(tmp_path / "run")
    evals = steps[steps["phase"] == "eval"]
    assert evals["step"].tolist() == [2, 4]
    assert (evals["loss"] > 0).all() and (evals["energy_j"] > 0).all()
