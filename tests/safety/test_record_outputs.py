"""Finding 10 and 11: no -o lands in a run's record files (after symlinks); `--set` cannot
change the keys that train's own flags own."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from tests.cli_checks import one_line
from tests.reports.traces import write_run


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def run(tmp_path):
    return write_run(tmp_path / "run")


def _record_targets(run):
    steps = run / "steps.csv"
    chunk = next((run / "telemetry").iterdir())
    return {"steps.csv": steps, "chunk": chunk, "config.yaml": run / "config.yaml",
            "events.jsonl": run / "events.jsonl", "checkpoints": run / "checkpoints" / "x.md",
            "new telemetry file": run / "telemetry" / "other.summary.parquet"}


@pytest.mark.parametrize("name", ["steps.csv", "chunk", "config.yaml", "events.jsonl", "checkpoints",
                                  "new telemetry file"])
@pytest.mark.parametrize("verb", [("report",), ("report", "--format", "json"), ("model-card",),
                                  ("dashboard",)])
def test_an_output_onto_a_record_file_is_refused_and_the_file_is_untouched(run, name, verb):
    target = _record_targets(run)[name]
    before = target.read_bytes() if target.exists() else None
    result = invoke(verb[0], run, *verb[1:], "-o", target)
    one_line(result, "run record", str(target))
    assert (target.read_bytes() if target.exists() else None) == before
    if name == "checkpoints":
        assert not (run / "checkpoints").exists()  # no folder made for it either


def test_estimate_cannot_write_onto_a_record_file(run):
    steps = run / "steps.csv"
    before = steps.read_bytes()
    result = invoke("estimate", "--model", "tiny", "--tokens", "1e9", "--hardware", "h100", "-o", steps)
    one_line(result, "run record")
    assert steps.read_bytes() == before


def test_a_symlink_into_the_record_is_resolved_and_refused(run, tmp_path):
    link = tmp_path / "innocent.md"
    link.symlink_to(run / "steps.csv")
    before = (run / "steps.csv").read_bytes()
    one_line(invoke("report", run, "-o", link), "resolves to", "steps.csv")
    assert (run / "steps.csv").read_bytes() == before
    folder_link = tmp_path / "view"
    folder_link.symlink_to(run, target_is_directory=True)
    one_line(invoke("report", run, "-o", folder_link / "config.yaml"), "run record")


def test_report_and_dashboard_files_in_the_run_stay_allowed(run):
    assert invoke("report", run, "-o", run / "report.md").exit_code == 0
    assert invoke("report", run, "--format", "json", "-o", run / "report.json").exit_code == 0
    assert invoke("dashboard", run, "-o", run / "dashboard.html").exit_code == 0
    assert invoke("report", run, "-o", run / "notes.md").exit_code == 0  # the user's own file beside


def test_dashboard_to_stdout_dash_is_refused_not_a_file_named_dash(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one_line(invoke("dashboard", run, "-o", "-"), "-o dashboard.html")
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("item, flag", [("run_dir=/tmp/elsewhere", "--run-dir"),
                                        ("tags={a: b}", "--tag"), ("tags.stage=x", "--tag")])
def test_set_of_a_key_a_train_flag_owns_is_refused_naming_the_flag(tmp_path, item, flag):
    run_dir = tmp_path / "run"
    result = invoke("train", "--run-dir", run_dir, "--max-steps", "1", "--set", item)
    one_line(result, flag, item.partition("=")[0])
    assert not run_dir.exists() and not (tmp_path / "elsewhere").exists()
