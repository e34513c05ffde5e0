"""The CLI's shape (docs/design.md, "The CLI's shape") and its error contract."""

import pytest
from click.testing import CliRunner

from olmo_green import __version__
from olmo_green.cli import VERBS, cli

VERBS_OF_DESIGN = ["train", "report", "dashboard", "estimate", "sensors", "hardware",
                   "prepare-data", "convert"]


def test_help_lists_every_verb_of_the_design():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for verb in VERBS_OF_DESIGN:
        assert f"  {verb} " in result.output


@pytest.mark.parametrize("verb", list(VERBS))
def test_every_verb_has_help(verb):
    result = CliRunner().invoke(cli, [verb, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_green_error_is_one_line_exit_2_without_traceback():
    result = CliRunner().invoke(cli, ["report", "--trace", "/no/such/trace.csv"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("olmo-green: error:")
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [["--bogus"], ["train", "--bogus"], ["no-such-verb"]])
def test_usage_errors_are_one_line_naming_the_help(args):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("olmo-green: error:") and "--help`" in lines[0]


def test_bare_command_prints_the_help():
    result = CliRunner().invoke(cli, [])
    assert "Usage:" in result.output and "olmo-green: error" not in result.output
