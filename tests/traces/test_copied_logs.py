"""One node's log given twice under two names (each file is read as a node) is refused, not
counted twice; two logs that differ, even by one byte and at the same size, are both read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from olmo_green.cli import cli

FIXTURE = Path(__file__).parent / "fixtures" / "nvidia-smi-units-index.csv"


def _report(*paths: Path, verb: str = "report", out: Path | None = None):
    args = [verb, "--trace", *map(str, paths), "--intensity", "0.1"]
    args += ["--format", "json"] if verb == "report" else ["-o", str(out)]
    return CliRunner().invoke(cli, args)


def test_a_log_copied_under_another_node_name_is_refused(tmp_path):
    a, b = tmp_path / "nodeA.csv", tmp_path / "nodeB.csv"
    shutil.copy(FIXTURE, a)
    shutil.copy(FIXTURE, b)
    for result in (_report(a, b), _report(a, b, verb="dashboard", out=tmp_path / "p.html")):
        assert result.exit_code == 2, result.output
        assert "same bytes" in result.output and "nodeA.csv" in result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "p.html").exists()


def test_logs_of_the_same_size_that_differ_are_both_counted(tmp_path):
    single = _report(FIXTURE)
    assert single.exit_code == 0, single.output
    text = FIXTURE.read_text()
    a, b = tmp_path / "nodeA.csv", tmp_path / "nodeB.csv"
    a.write_text(text)
    last_digit = max(i for i, c in enumerate(text) if c.isdigit())  # the same size, one byte apart
    b.write_text(text[:last_digit] + str((int(text[last_digit]) + 1) % 10) + text[last_digit + 1:])
    assert a.stat().st_size == b.stat().st_size
    both = _report(a, b)
    assert both.exit_code == 0, both.output
    one_j = json.loads(single.output)["runs"][0]["gpu_energy_mwh"]
    assert json.loads(both.output)["runs"][0]["gpu_energy_mwh"] > 1.5 * one_j
