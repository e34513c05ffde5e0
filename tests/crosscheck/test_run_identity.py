"""Issue 24, finding 5 continued: a run is known by its run_id and its content, not its path.

A copied run folder (`cp -r run run2`) counted twice before: the folder's inode was the only
identity. Now config.yaml carries a `run_id` written once when the record is created (kept on
resume), and the telemetry's chunk hashes name the run's content, so a copy counts once with
or without its id; two runs claiming one id are never merged."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.record import RunConfig
from olmo_green.summaries.identity import distinct_runs
from tests.crosscheck.records import chunks, report, steady_run, verify
from tests.model.helpers import byte_data


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two different simulated runs, tagged alike (made once: each takes seconds)."""
    root = tmp_path_factory.mktemp("identity")
    for name in ("a", "b"):
        steady_run(root / name, hardware="lumi", steps=4, tags={"stage": "dev"})
    return root


def _config(run) -> dict:
    return yaml.safe_load((run / "config.yaml").read_text())


def _write_config(run, data: dict) -> None:
    (run / "config.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def _json(*args) -> dict:
    code, out = report(*args, "--format", "json")
    assert code == 0, out
    return json.loads(out)


def _copy(runs, name: str):
    copy = runs.parent / f"{runs.name}-{name}"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(runs / "a", copy)
    return copy


def test_every_new_record_has_a_run_id_and_two_runs_have_two(runs):
    ids = [_config(runs / name)["run_id"] for name in ("a", "b")]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert ids[0] != ids[1]
    assert RunConfig.load(runs / "a").run_id == ids[0]


def test_a_copied_folder_counts_once_and_the_report_says_which_was_dropped(runs):
    copy = _copy(runs, "copy")
    once = _json(runs / "a")["runs"][0]["gpu_energy_mwh"]
    both = _json(runs / "a", copy)
    assert len(both["runs"]) == 1
    assert both["runs"][0]["gpu_energy_mwh"] == pytest.approx(once, rel=1e-12)
    code, out = report(runs / "a", copy)
    assert code == 0
    lines = [line for line in out.splitlines() if str(copy) in line]
    assert len(lines) == 1 and "the same run" in lines[0] and "run_id" in lines[0], out
    code, out = verify(runs / "a", copy)
    assert code == 1 and "the same run" in out


def test_a_copied_folder_counts_once_in_a_by_rollup(runs):
    copy = _copy(runs, "rollup")
    alone = _json(runs / "a", runs / "b", "--by", "stage")["groups"][0]
    both = _json(runs / "a", copy, runs / "b", "--by", "stage")["groups"][0]
    assert both["runs"] == alone["runs"] == ["a", "b"]
    assert both["gpu_energy_mwh"] == pytest.approx(alone["gpu_energy_mwh"], rel=1e-12)


@pytest.mark.parametrize("edit", ["removed", "edited"])
def test_a_copy_whose_run_id_was_removed_or_edited_counts_once_by_its_content(runs, edit):
    copy = _copy(runs, edit)
    data = _config(copy)
    if edit == "removed":
        del data["run_id"]
    else:
        data["run_id"] = "0" * 32
    _write_config(copy, data)
    once = _json(runs / "a")["runs"][0]["gpu_energy_mwh"]
    both = _json(copy, runs / "a")
    assert len(both["runs"]) == 1
    assert both["runs"][0]["gpu_energy_mwh"] == pytest.approx(once, rel=1e-12)
    kept, lines = distinct_runs([copy, runs / "a"])
    assert kept == [copy] and "the same telemetry" in lines[0] and str(runs / "a") in lines[0]


def test_two_runs_with_one_run_id_are_not_merged_the_report_refuses(runs):
    """A config.yaml copied into a new run: the id says one run, the telemetry says two."""
    clash = runs.parent / f"{runs.name}-clash"
    shutil.rmtree(clash, ignore_errors=True)
    shutil.copytree(runs / "b", clash)
    data = _config(clash)
    data["run_id"] = _config(runs / "a")["run_id"]
    _write_config(clash, data)
    code, out = report(runs / "a", clash)
    assert code != 0 and "Traceback" not in out
    assert len(out.strip().splitlines()) == 1 and "same run_id" in out and "not merged" in out
    code, out = verify(runs / "a", clash)
    assert code == 1 and "same run_id" in out
    assert str(clash) in out and str(runs / "a") in out


@pytest.mark.parametrize("keep_id", [True, False])
def test_a_copy_that_went_on_sharing_some_chunks_is_refused_not_counted_twice(runs, keep_id):
    """A copy taken before the run went on: its early chunks are the run's, its later ones not.
    Neither one run (merge would drop samples) nor two (the shared samples would count twice)."""
    grown = _copy(runs, f"grown{keep_id}")
    (first,), (later,) = chunks(runs / "a"), chunks(runs / "b")
    node = first.name.split(".")[0]  # the host's name
    shutil.copy(later, grown / "telemetry" / f"{node}.000001.parquet")  # b's samples as a's next chunk
    if not keep_id:
        data = _config(grown)
        del data["run_id"]
        _write_config(grown, data)
    code, out = report(runs / "a", grown)
    assert code != 0 and "Traceback" not in out and len(out.strip().splitlines()) == 1
    assert "share 1 telemetry chunk(s) but not all" in out
    code, out = verify(runs / "a", grown)
    assert code == 1 and "share 1 telemetry chunk(s)" in out


def test_two_different_runs_count_twice(runs):
    both = _json(runs / "a", runs / "b")
    singles = [_json(runs / name)["runs"][0]["gpu_energy_mwh"] for name in ("a", "b")]
    assert [r["gpu_energy_mwh"] for r in both["runs"]] == pytest.approx(singles, rel=1e-12)


def test_a_record_without_run_id_still_reports(runs):
    old = _copy(runs, "old")
    data = _config(old)
    del data["run_id"]
    _write_config(old, data)
    assert RunConfig.load(old).run_id is None
    alone = _json(old)
    assert alone["runs"][0]["gpu_energy_mwh"] == pytest.approx(_json(runs / "a")["runs"][0]["gpu_energy_mwh"])
    assert len(_json(old, runs / "b")["runs"]) == 2  # no id and other content: another run


@pytest.mark.parametrize("bad", ["", "two words", 12345, ["x"]])
def test_a_malformed_run_id_is_one_line_naming_the_key(runs, bad):
    broken = _copy(runs, "badid")
    data = _config(broken)
    data["run_id"] = bad
    _write_config(broken, data)
    code, out = report(broken)
    assert code != 0 and "Traceback" not in out and len(out.strip().splitlines()) == 1
    assert "run_id" in out and "config.yaml" in out


def test_a_meter_on_an_existing_run_keeps_its_run_id(runs):
    """A loop of the user's own resumed into its run directory: config.yaml is not rewritten."""
    again = _copy(runs, "again")
    before = _config(again)["run_id"]
    steady_run(again, hardware="lumi", steps=1, tags={"stage": "dev"})
    assert _config(again)["run_id"] == before


@pytest.mark.usefixtures("one_thread")
def test_train_writes_a_run_id_and_a_resume_keeps_it(tmp_path):
    small = ["--set", "model.sequence_length=32", "--set", "batch.global_batch_size=8",
             "--set", "progress=false", "--set", "eval_interval=0"]
    data, run = byte_data(tmp_path / "data"), tmp_path / "run"

    def train(*args):
        result = CliRunner().invoke(cli, ["train", *small, *map(str, args)])
        assert result.exit_code == 0, result.output

    train("--data", data, "--run-dir", run, "--max-steps", 2, "--save-interval", 2, "--hardware", "jupiter",
          "--simulate")
    first = _config(run)["run_id"]
    assert len(first) == 32
    train("--run-dir", run, "--resume", "--max-steps", 3)
    assert _config(run)["run_id"] == first
    result = CliRunner().invoke(cli, ["train", *small, "--data", str(data), "--run-dir", str(run),
                                      "--max-steps", "2", "--set", "run_id=x"])
    assert result.exit_code != 0 and "run_id" in result.output  # not a key --set can change


@pytest.mark.parametrize("empty_first", [True, False])
def test_a_copy_without_telemetry_never_takes_the_place_of_the_run(runs, empty_first):
    """A copy of config.yaml alone (same run_id, no telemetry) is the same run; whichever order
    they are given in, the input holding the telemetry is the one counted."""
    empty = runs.parent / f"{runs.name}-empty"
    shutil.rmtree(empty, ignore_errors=True)
    empty.mkdir()
    shutil.copy(runs / "a" / "config.yaml", empty / "config.yaml")
    once = _json(runs / "a")["runs"][0]["gpu_energy_mwh"]
    given = (empty, runs / "a") if empty_first else (runs / "a", empty)
    both = _json(*given)
    assert len(both["runs"]) == 1
    assert both["runs"][0]["gpu_energy_mwh"] == pytest.approx(once, rel=1e-12)
