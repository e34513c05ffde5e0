"""RunConfig: one reader and one writer of config.yaml; one options type for the meter."""

from __future__ import annotations

import dataclasses
import os
import warnings

import pytest
import yaml
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.config import TrainConfig, apply_overrides
from olmo_green.errors import ConfigError, GreenError, InputFileError
from olmo_green.hardware import load_profile
from olmo_green.record import RunConfig, TelemetryOptions
from olmo_green.reports import account_run
from olmo_green.summaries import record_settings
from olmo_green.telemetry.meter import EnergyMeter, MeterOptions

# config.yaml as the code before record/ wrote it: `olmo-green train` (abridged: any subset of its
# keys loads) and the meter's (telemetry/runconfig.py, for a loop of the user's own).
TRAIN_BEFORE = """\
model: {name: olmo2-tiny, sequence_length: 128, compile: false, activation_checkpointing: none,
  activation_checkpointing_every: 2}
optim: {lr: 0.0004, betas: [0.9, 0.95]}
telemetry: {sampling_interval_s: 0.05, summary_bucket_s: 10.0, metrics_port: null,
  metrics_host: 127.0.0.1, forecast_interval_s: 60.0}
max_steps: 20
tags: {stage: pre-training}
hardware: lumi
simulate: true
resolved_model: {d_model: 128}
"""
METER_BEFORE = """\
hardware: h100
simulate: true
telemetry: {sampling_interval_s: 0.01, summary_bucket_s: 10.0}
tags: {team: green}
"""


def _write(run, text):
    run.mkdir(exist_ok=True)
    (run / "config.yaml").write_text(text, encoding="utf-8")
    return run


def test_records_written_before_load_unchanged(tmp_path):
    train = RunConfig.load(_write(tmp_path / "a", TRAIN_BEFORE))
    assert train.train.model.name == "olmo2-tiny" and train.train.model.sequence_length == 128
    assert train.telemetry.sampling_interval_s == 0.05 and train.tags == {"stage": "pre-training"}
    assert train.resolved_model == {"d_model": 128} and train.profile().name == "lumi"
    meter = RunConfig.load(_write(tmp_path / "b", METER_BEFORE))
    assert meter.tags == {"team": "green"} and meter.telemetry.sampling_interval_s == 0.01
    assert not meter.has("model") and meter.value("model.compile") is None  # unknown, not "eager"
    assert record_settings(tmp_path / "b").max_gap_s == pytest.approx(0.05)  # GAP_FACTOR x 0.01


def test_an_interval_the_file_does_not_give_is_not_invented(tmp_path):
    """A record without a sampling interval lets each chunk's median decide, as before."""
    _write(tmp_path, "hardware: lumi\n")
    assert record_settings(tmp_path).max_gap_s is None


def test_save_then_load_round_trips_and_keeps_only_given_keys(tmp_path):
    config = RunConfig.load(_write(tmp_path / "a", METER_BEFORE))
    (tmp_path / "b").mkdir()
    config.save(tmp_path / "b")
    again = RunConfig.load(tmp_path / "b")
    assert again == config and set(yaml.safe_load((tmp_path / "b" / "config.yaml").read_text())) == \
        {"hardware", "simulate", "telemetry", "tags"}


def test_meter_writes_its_options_and_never_replaces_a_config(tmp_path):
    options = TelemetryOptions(sampling_interval_s=0.02, summary_bucket_s=5.0)
    written = RunConfig.for_meter(load_profile("mosaicml-a100"), True, options, {"team": "x"})
    assert written.save(tmp_path, replace=False) is True
    loaded = RunConfig.load(tmp_path)
    assert loaded.telemetry == options and loaded.profile().name == "mosaicml-a100"
    other = RunConfig.for_meter(load_profile("lumi"), False, TelemetryOptions())
    assert other.save(tmp_path, replace=False) is False and RunConfig.load(tmp_path) == loaded


@pytest.mark.parametrize("text, named, hint", [
    ("telemetry: {interval_s: 0.1}\n", "telemetry.interval_s", "did you mean telemetry.sampling_interval_s"),
    ("max_step: 5\n", "max_step", "did you mean max_steps"),
    ("hardwre: lumi\n", "hardwre", "did you mean hardware"),
    ("telemetry: {sampling_interval_s: 100ms}\n", "telemetry.sampling_interval_s", "a number of seconds"),
    ("telemetry: {sampling_interval_s: 0}\n", "telemetry.sampling_interval_s", "1 ms to 60 s"),
    ("telemetry: {summary_bucket_s: 7}\n", "telemetry.summary_bucket_s", "divide 3600"),
    ("simulate: maybe\n", "simulate", "bool"),
    ("resolved_hardware: lumi\n", "resolved_hardware", "mapping"),
    ("- a list\n", "config.yaml", "mapping"),
])
def test_a_bad_config_is_one_line_naming_the_file_and_key(tmp_path, text, named, hint):
    with pytest.raises(ConfigError) as e:
        RunConfig.load(_write(tmp_path, text))
    message = str(e.value)
    assert "\n" not in message and named in message and hint in message
    assert message.startswith(str(tmp_path / "config.yaml"))


def test_report_refuses_a_mistyped_config_key_in_one_line(tmp_path):
    _write(tmp_path, "hardware: lumi\ntelemetry: {sampling_intervall_s: 0.1}\n")
    result = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "telemetry.sampling_intervall_s" in result.output
    assert "did you mean telemetry.sampling_interval_s" in result.output and "Traceback" not in result.output


def test_invalid_yaml_and_a_planted_object_tag_are_refused(tmp_path):
    with pytest.raises(InputFileError, match="not valid YAML"):
        RunConfig.load(_write(tmp_path / "a", "hardware: [lumi\n"))
    with pytest.raises(GreenError):
        RunConfig.load(_write(tmp_path / "b", "hardware: !!python/object/apply:os.system ['true']\n"))


def test_a_config_that_is_a_folder_is_refused(tmp_path):
    (tmp_path / "config.yaml").mkdir()
    with pytest.raises(InputFileError, match="not a regular file"):
        RunConfig.load(tmp_path)


@pytest.mark.parametrize("override, named, hint", [
    ("telemetry.interval_s=0.1", "telemetry.interval_s", "did you mean telemetry.sampling_interval_s"),
    ("optim.lrr=1", "optim.lrr", "did you mean optim.lr"),
    ("telemetry.sampling_interval_s=100ms", "telemetry.sampling_interval_s", "a number of seconds"),
    ("telemetry.metrics_port=http", "telemetry.metrics_port", "int"),
])
def test_set_refuses_unknown_keys_and_wrong_types_in_one_line(override, named, hint):
    with pytest.raises(ConfigError) as e:
        apply_overrides(TrainConfig(), [override])
    assert named in str(e.value) and hint in str(e.value) and "\n" not in str(e.value)


def test_the_telemetry_section_is_the_meters_options_type():
    config = apply_overrides(TrainConfig(), ["telemetry.sampling_interval_s=0.02",
                                             "telemetry.flush_interval_s=1"])
    assert isinstance(config.telemetry, TelemetryOptions) and MeterOptions is TelemetryOptions
    meter = EnergyMeter(None, "local", simulate=True, options=config.telemetry)
    assert meter.options.sampling_interval_s == 0.02 and meter.options.flush_interval_s == 1.0


def test_the_old_meter_names_still_work_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match="is now (sampling_interval_s|sync_interval_steps)"):
        meter = EnergyMeter(None, "local", simulate=True, interval_s=0.05, sync_every_steps=3)
    assert meter.options.sampling_interval_s == 0.05 and meter.options.sync_every_steps == 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ConfigError, match="not also its old name"):
            EnergyMeter(None, "local", interval_s=0.05, sampling_interval_s=0.05)
    with pytest.raises(ConfigError, match="did you mean sampling_interval_s"):
        EnergyMeter(None, "local", sampling_intervl_s=0.05)


def test_the_olmo_core_config_shares_the_fields_and_their_rules():
    olmo_core = pytest.importorskip("olmo_green.integrations.olmo_core")
    names = {f.name for f in dataclasses.fields(olmo_core.EnergyCallbackConfig)}
    assert set(TelemetryOptions.names()) <= names  # sampling_interval_s, sync_interval_steps, ...
    config = olmo_core.EnergyCallbackConfig(sampling_interval_s=0.05, sync_interval_steps=5)
    assert TelemetryOptions.of(config) == TelemetryOptions(sampling_interval_s=0.05, sync_interval_steps=5)
    with pytest.raises(ConfigError, match="telemetry.sampling_interval_s"):
        olmo_core.EnergyCallbackConfig(sampling_interval_s=0)


def test_the_save_is_atomic_and_replaces_a_planted_symlink(tmp_path):
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep")
    run = tmp_path / "run"
    run.mkdir()
    os.symlink(target, run / "config.yaml")
    RunConfig.load(_write(tmp_path / "a", METER_BEFORE)).save(run)
    assert target.read_text() == "keep" and not (run / "config.yaml").is_symlink()
    assert [p.name for p in run.iterdir()] == ["config.yaml"]  # no temporary file left


def test_a_meter_record_reports_with_the_profile_it_wrote(tmp_path):
    from tests.simulated_runs import steady_run

    steady_run(tmp_path, "lumi", steps=3)
    config = RunConfig.load(tmp_path)
    assert config.profile().name == "lumi" and config.telemetry.sampling_interval_s == 0.01
    assert account_run(tmp_path).pue == load_profile("lumi").pue
