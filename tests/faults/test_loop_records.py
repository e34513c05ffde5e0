"""A record made by any loop is complete: EnergyMeter and hf_energy_callback write the profile.

Without it the report of such a run said "unknown (pass --hardware)" and
applied PUE 1.0 instead of the profile's 1.1: a silent 10% under-count.
"""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
import yaml
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.errors import ConfigError
from olmo_green.hardware import load_profile
from olmo_green.record import RunConfig, TelemetryOptions
from olmo_green.telemetry import EnergyMeter, hf_energy_callback
from tests.holders import held_by_another_process


def report_json(run, *extra: str) -> dict:
    result = CliRunner().invoke(cli, ["report", str(run), "--format", "json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["runs"][0]


def assert_reports_like_the_profile(run) -> None:
    own = report_json(run, "--intensity", "0.4")  # h100 names no intensity of its own
    named = report_json(run, "--hardware", "h100", "--intensity", "0.4")
    assert own["gpu_type"] == named["gpu_type"] == "H100-80GB SXM" and own["pue"] == 1.1
    assert own["emissions_tco2eq"] == pytest.approx(named["emissions_tco2eq"]) and own["emissions_tco2eq"] > 0
    assert own["gpu_energy_mwh"] == named["gpu_energy_mwh"]


def test_an_energy_meter_run_reports_with_its_profile(tmp_path):
    with EnergyMeter(tmp_path, "h100", simulate=True, sampling_interval_s=0.01,
                     tags={"team": "green"}) as meter:
        for _ in range(3):
            time.sleep(0.02)
            meter.step(tokens=128, loss=1.0)
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert config["resolved_hardware"]["pue"] == 1.1 and config["tags"] == {"team": "green"}
    assert config["simulate"] is True
    result = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert result.exit_code != 0 and "h100" in result.output  # h100 names no intensity: asks for one
    assert_reports_like_the_profile(tmp_path)


def test_the_hf_callback_run_reports_with_its_profile(tmp_path):
    callback = hf_energy_callback(tmp_path, "h100", simulate=True, sampling_interval_s=0.01, merge_idle_s=0.0)
    state, control = SimpleNamespace(global_step=0, log_history=[]), SimpleNamespace()
    callback.on_train_begin(None, state, control)
    for _ in range(3):
        callback.on_step_begin(None, state, control)
        time.sleep(0.02)
        state.global_step += 1
        callback.on_step_end(None, state, control)
    callback.on_train_end(None, state, control)
    assert_reports_like_the_profile(tmp_path)


def test_the_hf_callback_records_tokens_where_trainer_counts_them(tmp_path):
    callback = hf_energy_callback(tmp_path, "h100", simulate=True, sampling_interval_s=0.01, merge_idle_s=0.0)
    state = SimpleNamespace(global_step=0, log_history=[], num_input_tokens_seen=100)  # 100 before start
    control = SimpleNamespace()
    callback.on_train_begin(None, state, control)
    for _ in range(3):
        callback.on_step_begin(None, state, control)
        state.global_step += 1
        state.num_input_tokens_seen += 512
        callback.on_step_end(None, state, control)
    callback.on_train_end(None, state, control)
    assert report_json(tmp_path, "--intensity", "0.4")["tokens"] == 3 * 512


def test_an_existing_config_is_never_replaced(tmp_path):
    (tmp_path / "config.yaml").write_text("hardware: lumi\n")
    meter_config = RunConfig.for_meter(load_profile("h100"), True, TelemetryOptions())
    assert meter_config.save(tmp_path, replace=False) is False
    assert (tmp_path / "config.yaml").read_text() == "hardware: lumi\n"
    with EnergyMeter(tmp_path, "h100", simulate=True, sampling_interval_s=0.01) as meter:
        meter.step(tokens=1)
    assert (tmp_path / "config.yaml").read_text() == "hardware: lumi\n"


def test_an_unwritable_run_directory_does_not_stop_the_loop(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    meter = EnergyMeter(blocker / "run", "h100", simulate=True)
    meter._write_config()  # noqa: SLF001 (what start() calls; the rest of start needs the folder)
    assert "could not write" in caplog.text


def test_a_second_process_metering_the_same_run_is_refused(tmp_path):
    take = ("from olmo_green.telemetry import EnergyMeter\n"
            "m = EnergyMeter(sys.argv[1], 'h100', simulate=True).start()")
    with held_by_another_process(take, str(tmp_path)) as holder:
        with pytest.raises(ConfigError, match=f"being written by another .*pid {holder.pid}"):
            EnergyMeter(tmp_path, "h100", simulate=True).start()


def test_a_meter_inside_a_train_of_the_same_process_does_not_lock_against_it(tmp_path):
    from olmo_green import runlock

    with runlock.acquire(tmp_path):
        with EnergyMeter(tmp_path, "h100", simulate=True, sampling_interval_s=0.01) as meter:
            meter.step(tokens=1)
    assert (tmp_path / "steps.csv").exists()


@pytest.mark.parametrize("setting", [{"sampling_interval_s": 0}, {"sampling_interval_s": float("nan")},
                                     {"sampling_interval_s": 1e-9},
                                     {"flush_interval_s": -1}, {"sync_interval_steps": 0},
                                     {"merge_idle_s": float("nan")}, {"merge_idle_s": -1.0}])
def test_meter_options_pass_the_rule_for_numbers(tmp_path, setting):
    with pytest.raises(ConfigError):
        EnergyMeter(tmp_path, "h100", simulate=True, **setting)
