"""`report --sacct`: SLURM's energy beside ours, from a fake sacct that prints real-format output."""

import json
import stat

import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.record import EVENT_JOB, read_events
from olmo_green.reports.sacct import parse_elapsed_s, parse_sacct
from tests.simulated_runs import steady_run

# sacct -j 7654321 --format=JobID,JobIDRaw,ConsumedEnergyRaw,Elapsed,NNodes --parsable2, energy
# accounting on: SLURM's exact format (header line, `|` separated, no trailing `|`, job line then
# its steps). 2 A100 nodes for 2 h at about 4 kW each: under 8 x 400 W x 1.5 per node.
ACCOUNTED = """JobID|JobIDRaw|ConsumedEnergyRaw|Elapsed|NNodes
7654321|7654321|57712345|02:00:14|2
7654321.batch|7654321.batch|28034112|02:00:13|1
7654321.extern|7654321.extern|57712345|02:00:14|2
7654321.0|7654321.0|57001234|01:58:40|2
"""
NOT_ACCOUNTED = """JobID|JobIDRaw|ConsumedEnergyRaw|Elapsed|NNodes
7654321|7654321|0|02:00:14|2
7654321.batch|7654321.batch|0|02:00:13|1
7654321.0|7654321.0||01:58:40|2
"""


@pytest.fixture
def slurm_run(tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "7654321")
    monkeypatch.setenv("SLURM_CLUSTER_NAME", "lumi")
    steady_run(tmp_path / "run", steps=3)
    return tmp_path / "run"


def fake_sacct(folder, output: str, monkeypatch):
    """A `sacct` on PATH that logs its arguments and prints `output`."""
    folder.mkdir()
    script = folder / "sacct"
    (folder / "out.txt").write_text(output)
    script.write_text(f'#!/bin/sh\necho "$@" > {folder}/args.txt\ncat {folder}/out.txt\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")
    return folder


def report(*args):
    return CliRunner().invoke(cli, ["report", *map(str, args)])


def test_the_run_records_its_slurm_job(slurm_run):
    (job,) = [e for e in read_events(slurm_run) if e["kind"] == EVENT_JOB]
    assert job["slurm_job_id"] == "7654321" and job["slurm_cluster"] == "lumi"


def test_sacct_energy_is_printed_beside_ours_with_the_difference(slurm_run, tmp_path, monkeypatch):
    bin_dir = fake_sacct(tmp_path / "bin", ACCOUNTED, monkeypatch)
    result = report(slurm_run, "--sacct")
    assert result.exit_code == 0, result.output
    assert (bin_dir / "args.txt").read_text().split() == [
        "-j", "7654321", "--format=JobID,JobIDRaw,ConsumedEnergyRaw,Elapsed,NNodes", "--parsable2"]
    slurm_kwh = 57712345 / 3.6e6  # the job line, not the sum of its steps
    expected = f"the job's): {slurm_kwh:.4g} kWh"
    assert expected in result.output
    ours = json.loads(report(slurm_run, "--format", "json").output)["runs"][0]["gpu_energy_mwh"] * 1000
    assert f"our GPU energy: {ours:.4g} kWh, {ours - slurm_kwh:+.4g} kWh" in result.output
    assert "our whole-node energy: not measured" in result.output


def test_sacct_before_the_run_directory_still_means_the_flag(slurm_run, tmp_path, monkeypatch):
    fake_sacct(tmp_path / "bin", ACCOUNTED, monkeypatch)
    result = report("--sacct", slurm_run)
    assert result.exit_code == 0, result.output
    assert "SLURM node energy" in result.output


def test_saved_sacct_output_is_read_instead_and_json_stays_clean(slurm_run, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no sacct: the file is enough
    saved = tmp_path / "sacct.txt"
    saved.write_text(ACCOUNTED)
    result = CliRunner().invoke(cli, ["report", str(slurm_run), "--format", "json", f"--sacct={saved}"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["runs"][0]["gpu_energy_mwh"] > 0  # stdout is the JSON alone
    assert "SLURM node energy" in result.stderr


@pytest.mark.parametrize("case, says", [
    ("no sacct", "sacct is not on PATH"),
    ("not accounted", "SLURM recorded no energy for job(s) 7654321"),
])
def test_no_sacct_or_no_energy_is_one_line_not_an_error(slurm_run, tmp_path, monkeypatch, case, says):
    if case == "no sacct":
        monkeypatch.setenv("PATH", str(tmp_path))
    else:
        fake_sacct(tmp_path / "bin", NOT_ACCOUNTED, monkeypatch)
    result = report(slurm_run, "--sacct")
    assert result.exit_code == 0, result.output
    section = result.output.split("## SLURM energy accounting (sacct)")[1].strip().splitlines()
    assert len(section) == 2 and says in section[1]


def test_a_run_outside_slurm_says_so(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.delenv("SLURM_JOBID", raising=False)
    steady_run(tmp_path / "run", steps=2)
    result = report(tmp_path / "run", "--sacct")
    assert result.exit_code == 0 and "name no SLURM job" in result.output


def test_sacct_fields_parse_as_sacct_prints_them():
    assert parse_elapsed_s("02:00:14") == 7214
    assert parse_elapsed_s("3-04:05:06") == 3 * 86400 + 4 * 3600 + 5 * 60 + 6
    assert parse_elapsed_s("UNLIMITED") is None
    rows = parse_sacct(ACCOUNTED) + parse_sacct(NOT_ACCOUNTED)
    assert [r.is_job for r in rows[:4]] == [True, False, False, False]
    assert rows[0].energy_j == 57712345 and rows[0].nodes == 2
    assert rows[4].energy_j is None and rows[6].energy_j is None  # 0 and empty: nothing recorded
