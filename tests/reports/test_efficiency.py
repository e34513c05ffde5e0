"""Efficiency in reports: tokens per kWh for every run; MFU read from steps.csv's `mfu` column
(the trainer's, record.window_mfu) where the energy was measured on GPUs, else null and why."""

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.hardware import load_profile
from olmo_green.model.config import OLMoConfig
from olmo_green.model.metrics import flops_per_token
from olmo_green.record import window_mfu
from olmo_green.reports.account import DeviceEnergy, RunAccount
from olmo_green.reports.efficiency import run_mfu
from olmo_green.reports.steps import clean_steps
from tests.model.helpers import byte_data
from tests.record.golden_runs import make_run

pytestmark = pytest.mark.usefixtures("one_thread")
PER_TOKEN = flops_per_token(OLMoConfig.from_preset("olmo-1b"), 1024)
INPUTS = {"flops_per_token": PER_TOKEN, "peak_flops_per_device": 9.89e14, "world_size": 2}


def _account(method: str, gpus: int) -> RunAccount:
    devices = [DeviceEnergy("n0", str(i), "gpu", method, 1e6, 30.0, 0, 0, 0.0, 0.0) for i in range(gpus)]
    return RunAccount(name="r", path="r", hardware="h100", gpu_type="H100", method=method,
                      gpu_energy_j=gpus * 1e6, pue=1.1, pue_source="", carbon=[], devices=devices)


def _steps(mfu: bool = True) -> pd.DataFrame:
    """Two train steps of unequal length and a checkpoint window, as the trainer writes them."""
    rows = [{"step": 1, "phase": "train", "time_start_s": 1e9, "time_end_s": 1e9 + 6, "tokens": 4e5},
            {"step": 2, "phase": "train", "time_start_s": 1e9 + 6, "time_end_s": 1e9 + 20, "tokens": 4e5},
            {"step": 2, "phase": "checkpoint", "time_start_s": 1e9 + 20, "time_end_s": 1e9 + 29}]
    for row in rows:
        row["attempt"] = 1
        row["mfu"] = window_mfu({**row, **INPUTS}) if mfu else None
    return clean_steps(pd.DataFrame(rows))


def test_mfu_is_the_train_seconds_weighted_mean_of_the_rows_and_today_s_whole_run_figure():
    steps = _steps()
    assert steps["mfu"].notna().sum() == 2 and pd.isna(steps["mfu"].iloc[2])  # checkpoint: no mfu
    mfu, note = run_mfu(load_profile("h100"), _account("counter", gpus=2), steps)
    # 800k tokens over the 20 s of train windows (the checkpoint window is not training), 2 x 989 TFLOP/s
    assert mfu == pytest.approx(8e5 * PER_TOKEN / 20.0 / (2 * 9.89e14), rel=1e-12) and note == ""
    assert mfu != pytest.approx(steps["mfu"].iloc[:2].mean(), rel=1e-6)  # weighted, not a plain mean
    assert 0.0 < mfu < 1.0


@pytest.mark.parametrize("method", ["modelled", "replayed", "counter+modelled"])
def test_mfu_is_unknown_for_energy_not_measured_on_the_profiles_gpus(method):
    mfu, note = run_mfu(load_profile("h100"), _account(method, gpus=2), _steps())
    assert mfu is None and note == f"{method} energy: no GPU of the profile ran"


def test_mfu_is_unknown_without_a_peak_or_without_the_column():
    assert run_mfu(load_profile("local"), _account("counter", 1), _steps()) == \
        (None, "no GPU peak in the hardware profile")
    mfu, note = run_mfu(load_profile("h100"), _account("counter", 1), _steps(mfu=False))
    assert mfu is None and note.startswith("steps.csv has no mfu for 2 of 2 train steps")


def _edit_mfu(run, value: str | None) -> None:
    steps = pd.read_csv(run / "steps.csv", dtype=str, keep_default_na=False)
    if value is None:
        steps = steps.drop(columns="mfu")  # a record from before the column
    else:
        steps.loc[steps.index[3], "mfu"] = value  # a train row
    steps.to_csv(run / "steps.csv", index=False)


def _report(run) -> tuple[dict, str]:
    json_out = CliRunner().invoke(cli, ["report", str(run), "--format", "json"])
    markdown = CliRunner().invoke(cli, ["report", str(run)])
    assert json_out.exit_code == 0 and markdown.exit_code == 0, json_out.output + markdown.output
    return json.loads(json_out.output)["runs"][0], markdown.output


def test_a_record_reports_the_mfu_its_steps_carry(tmp_path):
    run = make_run(tmp_path, "olmo2-a100")  # measured (nvml) on the A100 profile, rows with mfu
    report, markdown = _report(run)
    written = pd.read_csv(run / "steps.csv")
    assert report["mfu"] == pytest.approx(written.loc[written["phase"] == "train", "mfu"].mean(), rel=1e-12)
    assert f"MFU {report['mfu']:.1%} of the profile's peak" in markdown


@pytest.mark.parametrize(("value", "why"), [
    ("47", "steps.csv step 4: mfu 47 is not in (0, 1]"), ("inf", "finite"), ("nan", "no mfu for 1 of 25"),
    ("-0.2", "(0, 1]"), ("fast", "number"), ("", "steps.csv has no mfu for 1 of 25 train steps"),
    (None, "steps.csv has no mfu for 25 of 25 train steps (written before the trainer recorded it")])
def test_an_edited_or_missing_mfu_is_null_and_says_why(tmp_path, value, why):
    run = make_run(tmp_path, "olmo2-a100")
    _edit_mfu(run, value)
    report, markdown = _report(run)
    assert report["mfu"] is None
    line = next(line for line in markdown.splitlines() if "MFU" in line)
    assert "MFU n/a (" in line and why in line
    assert report["gpu_energy_mwh"] > 0  # the rows' energy still counts: only the MFU is refused


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
    assert f"{report['tokens_per_kwh']:,.0f} tokens per kWh" in markdown
    assert "MFU n/a (modelled energy: no GPU of the profile ran)" in markdown
