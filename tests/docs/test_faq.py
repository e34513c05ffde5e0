"""Each FAQ heading is a message a user meets: provoke it and check the page still quotes it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from olmo_green.cli import cli

REPO = Path(__file__).resolve().parents[2]
HEADINGS = re.findall(r"^## `(.+?)`", (REPO / "docs" / "faq.md").read_text(encoding="utf-8"), re.M)


def quoted_parts(heading: str) -> list[str]:
    """The heading's literal parts: placeholders (NAME, ..., XYZ and the like) may vary."""
    return [part for part in re.split(r"NAME|\.\.\.|'[^']*'", heading) if part.strip(" ;,")]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("faq") / "run"
    done = CliRunner().invoke(cli, ["train", "--hardware", "lumi", "--simulate", "--max-steps", "2",
                                    "--run-dir", str(run)])
    assert done.exit_code == 0, done.output
    return run


def cases(run: Path, tmp: Path) -> dict[str, list[str]]:
    """A command that provokes each FAQ message."""
    return {
        "unknown hardware profile": ["train", "--hardware", "lumi2", "--simulate"],
        "not a run directory": ["report", str(tmp / "nosuchrun")],
        "there is no carbon intensity": ["report", "--trace", str(tmp / "t.csv")],
        "Invalid value for '--pue'": ["report", str(run), "--pue", "11"],
        "unknown configuration key": ["train", "--simulate", "--set", "optim.lrr=1"],
        "is set by a flag of train": ["train", "--simulate", "--set", "run_dir=x"],
        "already holds a run": ["train", "--hardware", "lumi", "--simulate", "--run-dir", str(run)],
        "is part of the run record": ["report", str(run), "-o", str(run / "steps.csv")],
        "the run ran on": ["report", str(run), "--hardware", "mosaicml-a100"],
        "unknown country": ["report", str(run), "--country", "XYZ"],
        "no energy sensor found": ["sensors", "--hardware", "h100"],
    }


def test_every_faq_message_is_what_the_cli_says(run_dir, tmp_path):
    (tmp_path / "t.csv").write_text("time_s,device,power_w\n1700000000,0,100\n1700000001,0,100\n")
    steps_before = (run_dir / "steps.csv").read_bytes()
    commands = cases(run_dir, tmp_path)
    covered = set()
    for key, args in commands.items():
        done = CliRunner().invoke(cli, args)
        lines = [line for line in done.output.splitlines() if line.strip()]
        assert done.exit_code != 0, (key, done.output)
        assert lines and lines[-1].startswith("olmo-green: error:"), (key, done.output)
        heading = next(h for h in HEADINGS if key in h or key.strip("'") in h)
        for part in quoted_parts(heading):
            assert part.strip() in lines[-1], (heading, part, lines[-1])
        covered.add(heading)
    assert (run_dir / "steps.csv").read_bytes() == steps_before  # no refusal touched the record
    assert set(HEADINGS) - covered == {"--verify"}  # findings, not an error line: tests/crosscheck
