"""A run directory from elsewhere cannot make olmo-green write, or print, files outside it.

Symlinks planted where olmo-green writes (config.yaml, report.md, dashboard.html,
RUN/.lock, the checkpoint pointer) are replaced or refused, never written
through; a record file linked to a system file is refused in one line that
does not echo the file's content.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.config import TrainConfig
from olmo_green.dashboards import write_run_dashboard
from olmo_green.model import checkpoint as ckpt
from olmo_green.record import RunConfig
from tests.reports.traces import write_run

SECRET = "root:x:0:0:secret-content\n"


@pytest.fixture
def precious(tmp_path) -> Path:
    path = tmp_path / "precious.txt"
    path.write_text(SECRET)
    return path


def test_config_yaml_planted_as_a_symlink_is_replaced(tmp_path, precious):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").symlink_to(precious)
    RunConfig.for_training(TrainConfig(), {}, {}).save(run)
    assert precious.read_text() == SECRET and not (run / "config.yaml").is_symlink()


def test_dashboard_planted_as_a_symlink_is_replaced(tmp_path, precious):
    run = write_run(tmp_path / "run")
    (run / "dashboard.html").symlink_to(precious)
    write_run_dashboard(run)
    assert precious.read_text() == SECRET and not (run / "dashboard.html").is_symlink()


def test_the_checkpoint_pointer_planted_as_a_symlink_is_replaced(tmp_path, precious):
    folder = tmp_path / "checkpoints"
    (folder / "step000001.partial").mkdir(parents=True)
    (folder / "latest").symlink_to(precious)
    ckpt.publish(folder, folder / "step000001.partial", folder / "step000001", keep=0)
    assert precious.read_text() == SECRET and (folder / "latest").read_text() == "step000001\n"


@pytest.mark.parametrize("name", ["steps.csv", "events.jsonl", "telemetry/n0.open.csv"])
def test_a_record_file_linked_to_a_system_file_is_one_line_that_echoes_nothing(tmp_path, precious, name):
    run = write_run(tmp_path / "run")
    (run / name).unlink()
    (run / name).symlink_to(precious)
    result = CliRunner().invoke(cli, ["report", str(run)])
    assert "secret-content" not in result.output and "Traceback" not in result.output
    if name != "events.jsonl":  # not valid JSON lines: skipped and counted, the report still stands
        assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
