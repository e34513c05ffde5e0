"""Efficiency in reports: tokens per kWh for every run, MFU where the energy was measured on GPUs."""

import json

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.hardware import load_profile
from olmo_green.model.config import OLMoConfig
from olmo_green.model.metrics import flops_per_token
from olmo_green.reports.account import DeviceEnergy, RunAccount
from olmo_green.reports.efficiency import run_mfu
from olmo_green.reports.steps import clean_steps
from tests.model.helpers import byte_data

pytestmark = pytest.mark.usefixtures("one_thread")


def _account(method: str, gpus: int) -> RunAccount:
    devices = [DeviceEnergy("n0", str(i), "gpu", method, 1e6, 30.0, 0, 0, 0.0, 0.0) for i in range(gpus)]
    return RunAccount(name="r", path="r", hardware="h100", gpu_type="H100", method=method,
                      gpu_energy_j=gpus * 1e6, pue=1.1, pue_source="", carbon=[], devices=devices)


def _run_dir(tmp_path):
    model = OLMoConfig.from_preset("olmo-1b").to_dict()
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"model": {"sequence_length": 1024},
                                                          "resolved_model": model}))
    start_s = [1e9, 1e9 + 10, 1e9 + 20]
    steps = pd.DataFrame({"step": [1, 2, 2], "phase": ["train", "train", "checkpoint"],
                          "time_start_s": start_s, "time_end_s": [1e9 + 10, 1e9 + 20, 1e9 + 29],
                          "tokens": [4e5, 4e5, None], "attempt": [1, 1, 1]})
    return tmp_path, clean_steps(steps)


def test_mfu_is_train_flops_per_second_over_the_peak_of_the_measured_gpus(tmp_path):
    run, steps = _run_dir(tmp_path)
    mfu = run_mfu(run, load_profile("h100"), _account("counter", gpus=2), steps)
    per_token = flops_per_token(OLMoConfig.from_preset("olmo-1b"), 1024)
    # 800k tokens over the 20 s of train windows (the checkpoint window is not training), 2 x 989 TFLOP/s
    assert mfu == pytest.approx(8e5 * per_token / 20.0 / (2 * 9.89e14))
    assert 0.0 < mfu < 1.0


@pytest.mark.parametrize("method", ["modelled", "replayed", "counter+modelled"])
def test_mfu_is_unknown_for_energy_not_measured_on_the_profiles_gpus(tmp_path, method):
    run, steps = _run_dir(tmp_path)
    assert run_mfu(run, load_profile("h100"), _account(method, gpus=2), steps) is None


def test_mfu_is_unknown_without_a_model_or_a_peak(tmp_path):
    run, steps = _run_dir(tmp_path)
    assert run_mfu(run, load_profile("local"), _account("counter", 1), steps) is None  # no peak
    (run / "config.yaml").write_text("hardware: h100\n")  # a loop that recorded no model
    assert run_mfu(run, load_profile("h100"), _account("counter", 1), steps) is None


def test_a_trained_run_reports_tokens_per_kwh_and_null_mfu_when_simulated(tmp_path):
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "--data", str(byte_data(tmp_path / "data")), "--run-dir",
                                      str(run), "--max-steps", "3", "--hardware", "h100", "--simulate",
                                      "--set", "model.sequence_length=32", "--set", "progress=false"])
    assert result.exit_code == 0, result.output
    report = json.loads(CliRunner().invoke(cli, ["report", str(run), "--format", "json",
                                                 "--intensity", "0.4"]).output)["runs"][0]
    assert report["tokens"] == 3 * 8 * 32
    assert report["tokens_per_kwh"] == pytest.approx(report["tokens"] / (report["gpu_energy_mwh"] * 1000))
    assert report["mfu"] is None  # simulated: no GPU ran
    markdown = CliRunner().invoke(cli, ["report", str(run), "--intensity", "0.4"]).output
    assert f"{report['tokens_per_kwh']:,.0f} tokens per kWh" in markdown and "MFU n/a" in markdown
