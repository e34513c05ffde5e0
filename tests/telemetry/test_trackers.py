"""Experiment trackers fed by the meter: real TensorBoard and MLflow stores, read back."""

import sys

import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.errors import ConfigError
from olmo_green.record import read_steps
from olmo_green.telemetry.meter import EnergyMeter
from tests.simulated_runs import steady_run

KEYS = {"loss", "lr", "energy/step_j", "energy/power_w", "energy/total_kwh", "energy/emissions_kg_co2e"}
KG_PER_KWH = 0.656 * 1.1  # mosaicml-a100: location intensity x PUE


def train_rows(run):
    steps = read_steps(run)
    return steps[steps["phase"] == "train"].reset_index(drop=True)


def test_tensorboard_holds_loss_lr_energy_power_and_emissions_per_step(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    steady_run(run, steps=6, trackers=("tensorboard",))
    board = EventAccumulator(str(run / "tensorboard"))
    board.Reload()
    assert KEYS <= set(board.Tags()["scalars"])
    rows = train_rows(run)
    step_j = {e.step: e.value for e in board.Scalars("energy/step_j")}
    assert sorted(step_j) == rows["step"].tolist()
    assert [step_j[s] for s in rows["step"]] == pytest.approx(rows["energy_j"].tolist(), rel=1e-6)
    total = {e.step: e.value for e in board.Scalars("energy/total_kwh")}
    emissions = {e.step: e.value for e in board.Scalars("energy/emissions_kg_co2e")}
    last = rows["step"].max()
    assert emissions[last] == pytest.approx(total[last] * KG_PER_KWH, rel=1e-5)
    assert total[last] >= sum(step_j.values()) / 3.6e6 * (1 - 1e-6)  # the run so far, steps and all
    power = {e.step: e.value for e in board.Scalars("energy/power_w")}
    duration_s = (rows["time_end_s"] - rows["time_start_s"]).tolist()
    assert [power[s] for s in rows["step"]] == pytest.approx(
        [j / d for j, d in zip(rows["energy_j"], duration_s, strict=True)], rel=1e-4)
    assert [e.value for e in board.Scalars("loss")] == pytest.approx(rows["loss"].tolist(), rel=1e-6)


def test_mlflow_writes_a_local_store_in_the_run_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)  # nothing may land in the working directory
    run = tmp_path / "run"
    steady_run(run, steps=5, trackers=("mlflow",))
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=(run / "mlruns").resolve().as_uri())
    experiment = client.get_experiment_by_name("olmo-green")
    (found,) = client.search_runs([experiment.experiment_id])
    assert found.info.run_name == "run" and found.info.status == "FINISHED"
    assert found.data.params["hardware"] == "mosaicml-a100"
    history = client.get_metric_history(found.info.run_id, "energy/step_j")
    rows = train_rows(run)
    assert [m.step for m in history] == rows["step"].tolist()
    assert [m.value for m in history] == pytest.approx(rows["energy_j"].tolist(), rel=1e-9)
    assert KEYS <= set(found.data.metrics)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_missing_tracker_library_is_one_line_naming_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'olmo-green\[wandb\]'"):
        EnergyMeter(tmp_path / "run", "local", simulate=True, trackers=("wandb",))
    result = CliRunner().invoke(cli, ["train", "--run-dir", str(tmp_path / "cli"), "--set", "log.wandb=true"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "olmo-green[wandb]" in lines[0] and "log.wandb" in lines[0]
    assert not (tmp_path / "cli").exists()  # refused before anything was written


def test_wandb_offline_run_lands_under_the_run_directory(tmp_path, monkeypatch):
    pytest.importorskip("wandb", reason="W&B is an optional extra, not in the test extra (see setup.py)")
    for name in ("WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(name, str(tmp_path / "wandb-home"))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = tmp_path / "run"
    steady_run(run, steps=3, trackers=("wandb",))
    (offline,) = (run / "wandb").glob("offline-run-*")
    assert list(offline.glob("run-*.wandb")) and next(offline.glob("run-*.wandb")).stat().st_size > 0


@pytest.mark.usefixtures("one_thread")
def test_train_with_log_tensorboard_logs_each_step_of_the_trainer(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from tests.model.helpers import byte_data

    run = tmp_path / "run"
    result = CliRunner().invoke(cli, [
        "train", "--simulate", "--hardware", "mosaicml-a100", "--data", str(byte_data(tmp_path / "data")),
        "--run-dir", str(run), "--max-steps", "3", "--set", "model.sequence_length=32",
        "--set", "progress=false", "--set", "log.tensorboard=true"])
    assert result.exit_code == 0, result.output
    board = EventAccumulator(str(run / "tensorboard"))
    board.Reload()
    assert KEYS <= set(board.Tags()["scalars"])
    assert [e.step for e in board.Scalars("loss")] == [1, 2, 3]
    assert "log:\n  tensorboard: true" in (run / "config.yaml").read_text()  # a resume keeps logging
