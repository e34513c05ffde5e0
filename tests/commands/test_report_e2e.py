"""`olmo-green report` on a run written by `olmo-green train --simulate` (issue 5's acceptance)."""

import json

import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from tests.model.helpers import byte_data

pytestmark = pytest.mark.usefixtures("one_thread")
SMALL = ["--set", "model.sequence_length=32", "--set", "batch.global_batch_size=8", "--set", "progress=false"]


def test_report_of_a_simulated_lumi_run(tmp_path):
    run = tmp_path / "run"
    trained = CliRunner().invoke(cli, ["train", "--simulate", "--hardware", "lumi", "--max-steps", "2",
                                       "--data", str(byte_data(tmp_path / "data")), "--run-dir", str(run),
                                       *SMALL])
    assert trained.exit_code == 0, trained.output
    result = CliRunner().invoke(cli, ["report", str(run), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)["runs"][0]
    assert report["method"] == "modelled" and report["gpu_energy_mwh"] > 0
    assert report["basis"] == "market" and report["emissions_tco2eq"] == 0.0
    phases = report["phases_j"]
    assert phases["train"] > 0 and sum(phases.values()) == pytest.approx(report["gpu_energy_mwh"] * 3.6e9)
