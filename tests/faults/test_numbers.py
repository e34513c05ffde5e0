"""One rule for numbers (olmo_green/checks.py): the same value is refused by every path it can take.

A value refused as a flag must be refused from a profile YAML, a run's saved
config.yaml and a model YAML too: accepted there, it changed figures by 1000x.
Each refusal is one line, exit code 2, no traceback, and a refused `train`
leaves nothing on disk.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from olmo_green import checks
from olmo_green.cli import cli
from olmo_green.errors import ConfigError
from olmo_green.hardware import load_profile
from olmo_green.hardware.profiles import HOLISTIC_KEYS
from tests.reports.traces import write_run


def one_line_error(result, *needles: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def profile_yaml(tmp_path: Path, **changes) -> Path:
    """mosaicml-a100 as a user's YAML file, with `changes` (None removes a key)."""
    profile = load_profile("mosaicml-a100")
    data = {k: v for k, v in dataclasses.asdict(profile).items()
            if k not in ("name", "sources") and v is not None}
    data["sensors"] = list(data["sensors"])
    # a water or embodied figure must cite its source in a user's YAML (profiles.HOLISTIC_KEYS)
    data["sources"] = {k: v for k, v in profile.sources.items() if k in HOLISTIC_KEYS and k in data}
    data.update(changes)
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump({k: v for k, v in data.items() if v is not None}), encoding="utf-8")
    return path


# ---------------------------------------------------------------- flags


@pytest.mark.parametrize("flag, value, says", [
    ("--tokens", "nan", "finite"), ("--tokens", "inf", "finite"), ("--tokens", "-5", "(0, 1e+16]"),
    ("--tokens", "1e30", "(0, 1e+16]"), ("--tokens", "0x10", "must be a number"),
    ("--mfu", "nan", "finite"), ("--mfu", "0", "(0, 1]"), ("--mfu", "47", "0.4, not 40"),
    ("--pue", "0.9", "[1, 3]"), ("--pue", "inf", "finite"), ("--pue", "110", "[1, 3]"),
    ("--intensity", "656", "0.656, not 656"), ("--intensity", "-0.1", "[0, 2]"),
    ("--intensity", "nan", "finite"),
])
def test_estimate_flags_are_checked(flag, value, says):
    args = {"--tokens": "1e9", "--mfu": None, "--pue": None, "--intensity": None} | {flag: value}
    extra = [x for k, v in args.items() if v is not None for x in (k, v)]
    result = invoke("estimate", "--model", "olmo-7b", "--hardware", "mosaicml-a100", *extra)
    one_line_error(result, flag, says)


@pytest.mark.parametrize("verb", ["report", "dashboard"])
@pytest.mark.parametrize("flag, value", [("--pue", "nan"), ("--pue", "0.99"), ("--pue", "3.5"),
                                         ("--intensity", "inf"), ("--intensity", "656")])
def test_report_and_dashboard_flags_are_checked_before_anything_is_written(tmp_path, verb, flag, value):
    run = write_run(tmp_path / "run")
    before = sorted(p.name for p in run.iterdir())
    one_line_error(invoke(verb, run, flag, value), flag)
    assert sorted(p.name for p in run.iterdir()) == before  # no dashboard.html, no report


def test_sensors_probe_seconds_is_checked():
    for value in ("nan", "-1", "inf"):
        one_line_error(invoke("sensors", "--hardware", "h100", "--simulate", "--probe-seconds", value),
                       "--probe-seconds")


# ---------------------------------------------------------------- --set


@pytest.mark.parametrize("setting, says", [
    ("optim.lr=nan", "optim.lr"), ("optim.lr=.inf", "optim.lr"), ("optim.weight_decay=nan", "weight_decay"),
    ("optim.eps=-1", "optim.eps"), ("optim.betas=[0.9, .nan]", "optim.betas"),
    ("optim.grad_clip_warmup_factor=nan", "grad_clip_warmup_factor"),
    ("telemetry.sampling_interval_s=nan", "sampling_interval_s"),
    ("telemetry.sampling_interval_s=1e-9", "[0.001, 60]"),
    ("telemetry.sampling_interval_s=1e6", "[0.001, 60]"),
    ("schedule.alpha_f=nan", "alpha_f"), ("max_steps=2.5", "max_steps"), ("max_steps=true", "max_steps"),
    ("eval_interval=-1", "eval_interval"), ("schedule.warmup_steps=1.5", "warmup_steps"),
])
def test_train_set_values_are_checked_and_nothing_is_created(tmp_path, setting, says):
    run = tmp_path / "run"
    one_line_error(invoke("train", "--simulate", "--hardware", "lumi", "--max-steps", "2", "--run-dir", run,
                          "--set", setting), says)
    assert not run.exists()


# ---------------------------------------------------------------- profile YAML = flags


@pytest.mark.parametrize("key, value, says", [
    ("pue", 0.5, "[1, 3]"), ("pue", float("nan"), "finite"), ("pue", True, "must be a number"),
    ("pue", "1,1", "must be a number"), ("pue", "110%", "must be a number"),
    ("intensity_location_kg_per_kwh", 656, "0.656, not 656"),
    ("intensity_location_kg_per_kwh", float("inf"), "finite"),
    ("intensity_location_kg_per_kwh", -0.5, "[0, 2]"),
    ("devices_per_package", 0, "devices_per_package"), ("devices_per_package", 3, "divisor"),
    ("devices_per_node", 8.7, "whole number"), ("typical_mfu", 5, "0.47, not 47"),
    ("typical_mfu", 0, "(0, 1]"), ("typical_mfu", True, "must be a number"),
    ("peak_flops_per_device", 0, "peak_flops_per_device"), ("peak_flops_per_device", 312, "not 989"),
    ("package_train_w", -400, "package_train_w"), ("package_tdp_w", 0.4, "package_tdp_w"),
    ("package_idle_w", 500, "above package_tdp_w"), ("headline", "bogus", "headline"),
    ("country", "FI", "alpha-3"), ("vendor", "acme", "vendor"),
])
@pytest.mark.parametrize("verb", ["estimate", "report", "hardware"])
def test_a_profile_value_refused_as_a_flag_is_refused_from_yaml(tmp_path, key, value, says, verb):
    profile = profile_yaml(tmp_path, **{key: value})
    args = {"estimate": ["estimate", "--model", "olmo-7b", "--tokens", "1e9", "--hardware", profile],
            "report": ["report", write_run(tmp_path / "run"), "--hardware", profile],
            "hardware": ["hardware", profile]}[verb]
    one_line_error(invoke(*args), "site.yaml", says)


def test_a_profile_refused_by_train_creates_nothing(tmp_path):
    profile = profile_yaml(tmp_path, devices_per_package=0)
    run = tmp_path / "run"
    one_line_error(invoke("train", "--simulate", "--hardware", profile, "--max-steps", "1", "--run-dir", run),
                   "devices_per_package")
    assert not run.exists()


def test_sensors_refuses_the_same_profile(tmp_path):
    profile = profile_yaml(tmp_path, devices_per_package=0)
    one_line_error(invoke("sensors", "--hardware", profile, "--simulate"), "devices_per_package")


def test_yaml_1_1_exponent_without_a_dot_reads_as_the_same_number(tmp_path):
    """PyYAML reads `1e0` as text; it must still be the number 1, never another value."""
    path = tmp_path / "site.yaml"
    path.write_text(profile_yaml(tmp_path).read_text().replace("pue: 1.1", "pue: 1.2e0"), encoding="utf-8")
    assert load_profile(str(path)).pue == 1.2


# ---------------------------------------------------------------- a run's saved profile


@pytest.mark.parametrize("key, value", [("pue", 0.01), ("devices_per_package", 0),
                                        ("intensity_location_kg_per_kwh", 656.0)])
def test_a_tampered_config_yaml_profile_is_refused_naming_config_yaml(tmp_path, key, value):
    run = write_run(tmp_path / "run")
    data = dataclasses.asdict(load_profile("mosaicml-a100"))
    data[key] = value
    (run / "config.yaml").write_text(yaml.safe_dump({"hardware": "mosaicml-a100", "resolved_hardware": data}))
    for verb in ("report", "dashboard"):
        one_line_error(invoke(verb, run, "--pue", "1.2") if verb == "dashboard" else invoke(verb, run),
                       "config.yaml", key)


# ---------------------------------------------------------------- model YAML


def model_yaml(tmp_path: Path, **changes) -> Path:
    data = dict(d_model=128, n_heads=4, n_layers=2, mlp_hidden_size=512, vocab_size=257, embedding_size=384,
                max_sequence_length=256, weight_tying=True, eos_token_id=256, pad_token_id=256)
    data.update(changes)
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("key, value, says", [
    ("max_sequence_length", float("nan"), "finite"), ("rope_theta", float("nan"), "finite"),
    ("rope_theta", -1.0, "positive"), ("eos_token_id", 999, "inside the vocabulary"),
    ("pad_token_id", -1, "inside the vocabulary"), ("n_layers", 2.5, "whole number"),
    ("layer_norm_eps", float("inf"), "finite"),
])
def test_model_yaml_numbers_are_checked_by_estimate_and_train(tmp_path, key, value, says):
    model = model_yaml(tmp_path, **{key: value})
    one_line_error(invoke("estimate", "--model", model, "--tokens", "1e9", "--hardware", "h100"), says)
    run = tmp_path / "run"
    result = invoke("train", "--model", model, "--simulate", "--max-steps", "1", "--run-dir", run)
    one_line_error(result, says)
    assert not run.exists()


# ---------------------------------------------------------------- the module itself


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True, None, "abc", [1.0]])
def test_to_number_refuses_what_is_not_a_finite_number(value):
    with pytest.raises(ConfigError):
        checks.to_number(value, "x")


def test_counts_are_whole_numbers_and_text_is_parsed_strictly():
    assert checks.to_number("8", "n", integer=True) == 8 and checks.to_number(8.0, "n", integer=True) == 8
    assert checks.to_number(" 1.1 ", "x") == 1.1
    with pytest.raises(ConfigError, match="whole number"):
        checks.to_number(8.7, "n", integer=True)


def test_implausible_times_catch_milliseconds_nanoseconds_and_years_away():
    import numpy as np

    times = np.array([1.7e9, 1.7e12, 1.7e18, 1.0e8, 4.0e9, np.nan])
    assert checks.implausible_times(times).tolist() == [False, True, True, True, True, True]
    assert "milliseconds" in checks.time_problem(1.7e12)
    assert "nanoseconds" in checks.time_problem(1.7e18)
    assert "future" in checks.time_problem(4.0e9) and "before 2000" in checks.time_problem(1e8)


@pytest.mark.parametrize("kind", ["mfu", "pue", "intensity_kg_per_kwh"])
@pytest.mark.parametrize("value", [0.4, 1.0, 1.2, 0.0, -0.2, 47.0, float("nan"), float("inf"), "0.5", "abc",
                                   True, None])
def test_a_column_is_checked_as_each_of_its_values(kind, value):
    """check_column (steps.csv's mfu, millions of rows) refuses exactly what check() refuses, in its words."""
    column = [value]
    try:
        expected = checks.check(value, kind, "row 0")
    except ConfigError as e:
        with pytest.raises(ConfigError) as refused:
            checks.check_column(column, kind, lambda i: f"row {i}")
        assert str(refused.value) == str(e)
    else:
        assert checks.check_column(column, kind, lambda i: f"row {i}")[0] == expected
