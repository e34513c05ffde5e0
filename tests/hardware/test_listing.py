"""`olmo-green hardware` prints every number with its source."""

from dataclasses import fields

from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.hardware import HardwareProfile, list_profiles

NUMERIC = {f.name for f in fields(HardwareProfile) if "float" in str(f.type) or "int" in str(f.type)}


def test_every_numeric_value_of_every_profile_is_cited():
    for profile in list_profiles():
        for key in NUMERIC:
            if getattr(profile, key) is not None:
                assert profile.sources.get(key), f"{profile.name}.{key} has no source"


def test_no_value_is_left_marked_to_check():
    for profile in list_profiles():
        assert not [k for k, s in profile.sources.items() if "TO CHECK" in s], profile.name


def test_hardware_command_prints_values_and_sources():
    result = CliRunner().invoke(cli, ["hardware"])
    assert result.exit_code == 0
    assert "package_tdp_w" in result.output and "NVIDIA A100 data sheet" in result.output
    assert "Finland grid average" in result.output  # LUMI's location-based intensity, computed


def test_hardware_command_with_an_unknown_profile_is_one_line():
    result = CliRunner().invoke(cli, ["hardware", "nope"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
