"""The trace format pages: every `olmo-green dashboard --trace` line names options the command has,
and the index's runnable example writes a page whose energy is the report's."""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.commands.dashboard import command as dashboard
from olmo_green.units import J_PER_MWH
from tests.dashboards.trace_page import energy_j

REPO = Path(__file__).resolve().parents[2]
PAGES = sorted((REPO / "docs" / "formats").glob("*.md"))
BLOCK = re.compile(r"```(?:sh|bash)\n(.*?)```", re.S)


def commands(page: Path, verb: str) -> list[list[str]]:
    """Each `olmo-green VERB ...` command of the page's shell blocks, continuation lines joined."""
    found = []
    for block in BLOCK.findall(page.read_text(encoding="utf-8")):
        for line in block.replace("\\\n", " ").splitlines():
            if line.startswith(f"olmo-green {verb} "):
                found.append(shlex.split(line, comments=True)[2:])
    return found


def test_every_format_page_shows_its_dashboard_line():
    for page in PAGES:
        reports, dashboards = commands(page, "report"), commands(page, "dashboard")
        assert dashboards, f"{page.name} has no dashboard line"
        for args in reports:  # the dashboard reads the log as the report line does
            assert any(d[:len(args)] == args for d in dashboards), (page.name, args)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_dashboard_lines_name_real_options(page):
    options = {opt: p for p in dashboard.params if isinstance(p, click.Option) for opt in p.opts}
    for args in commands(page, "dashboard"):
        assert "-o" in args, args  # a trace's page needs its file
        for i, arg in enumerate(args):
            if arg.startswith("-"):
                assert arg in options, (page.name, arg)
                if isinstance(options[arg].type, click.Choice):
                    assert args[i + 1] in options[arg].type.choices, (page.name, args[i + 1])


def test_the_index_example_runs_and_draws_the_reports_energy(tmp_path):
    [args] = [a for a in commands(REPO / "docs" / "formats" / "index.md", "dashboard") if "tests/" in a[1]]
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        out = tmp_path / "page.html"
        assert args[-2] == "-o"
        result = CliRunner().invoke(cli, ["dashboard", *args[:-1], str(out)])
        assert result.exit_code == 0, result.output
        report = CliRunner().invoke(cli, ["report", "--trace", args[1], "--trace-tz", "Europe/Berlin",
                                          "--intensity", "0.5", "--format", "json"])
    finally:
        os.chdir(cwd)
    assert report.exit_code == 0, report.output
    want_j = json.loads(report.output)["runs"][0]["gpu_energy_mwh"] * J_PER_MWH
    assert energy_j(out.read_text(encoding="utf-8")) == pytest.approx(want_j, rel=1e-9)
