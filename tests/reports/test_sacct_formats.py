"""sacct output as SLURM writes it: any column order, units, unrelated jobs, refusals; read back by pandas."""

import io

import pandas as pd
import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.errors import InputFileError
from olmo_green.reports.sacct import parse_sacct, select_jobs
from tests.simulated_runs import steady_run

JOB_J = 57_712_345  # 2 A100 nodes, 2 h, about 4 kW per node
# (JobID, JobIDRaw, JobName, ConsumedEnergyRaw, ConsumedEnergy as `--units=M` prints it, Elapsed, NNodes):
# job 7654321 and its steps, then an unrelated job 7654400 that must never be counted.
LINES = [
    ("7654321", "7654321", "olmo", str(JOB_J), "57.71M", "02:00:14", "2"),
    ("7654321.batch", "7654321.batch", "batch", "28034112", "28.03M", "02:00:13", "1"),
    ("7654321.extern", "7654321.extern", "extern", str(JOB_J), "57.71M", "02:00:14", "2"),
    ("7654321.0", "7654321.0", "python", "57001234", "57.00M", "01:58:40", "2"),
    ("7654400", "7654400", "other", "40000000", "40.00M", "01:30:00", "2"),
    ("7654400.0", "7654400.0", "python", "39000000", "39.00M", "01:29:00", "2"),
]
ALL = ("JobID", "JobIDRaw", "JobName", "ConsumedEnergyRaw", "ConsumedEnergy", "Elapsed", "NNodes")
ORDERS = [
    ("JobID", "ConsumedEnergyRaw", "Elapsed", "NNodes"),
    ("NNodes", "Elapsed", "JobName", "ConsumedEnergyRaw", "JobIDRaw", "JobID"),
    ("Elapsed", "NNodes", "JobID", "ConsumedEnergy", "ConsumedEnergyRaw"),
]


def sacct_text(columns, header: bool = True, trailing: str = "") -> str:
    """`sacct -j 7654321,7654400 --format=<columns> --parsable2` (trailing="|": --parsable)."""
    picks = [ALL.index(c) for c in columns]
    rows = ["|".join(line[i] for i in picks) + trailing for line in LINES]
    return "\n".join(([("|".join(columns) + trailing)] if header else []) + rows) + "\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("sacct") / "run"
    steady_run(path, steps=2)
    return path


def report(*args):
    return CliRunner().invoke(cli, ["report", *map(str, args)])


@pytest.mark.parametrize("columns", ORDERS)
def test_every_column_order_gives_the_job_lines_joules_and_pandas_reads_the_same_file(columns):
    text = sacct_text(columns)
    jobs = select_jobs(parse_sacct(text), ["7654321"], "fixture")
    assert [j.job_id for j in jobs] == ["7654321"]  # steps and the other job are not added
    assert jobs[0].energy_j == JOB_J and jobs[0].elapsed_s == 7214 and jobs[0].nodes == 2
    table = pd.read_csv(io.StringIO(text), sep="|", dtype=str)
    assert list(table.columns) == list(columns) and len(table) == len(LINES)
    assert int(table.set_index("JobID").loc["7654321", "ConsumedEnergyRaw"]) == jobs[0].energy_j


def test_the_report_is_the_same_whatever_the_column_order(run, tmp_path):
    outputs = set()
    for n, columns in enumerate(ORDERS):
        saved = tmp_path / f"sacct{n}.txt"
        saved.write_text(sacct_text(columns))
        result = report(run, f"--sacct={saved}", "--sacct-job", "7654321")
        assert result.exit_code == 0, result.output
        outputs.add(result.output.split("## SLURM")[1].replace(str(saved), ""))
    assert len(outputs) == 1 and f"{JOB_J / 3.6e6:.4g} kWh" in outputs.pop()


def test_consumed_energy_with_units_suffix_is_joules_times_1000_powers():
    rows = parse_sacct(sacct_text(("JobID", "ConsumedEnergy", "Elapsed")))
    assert rows[0].energy_j == pytest.approx(57.71e6)
    (row,) = parse_sacct("JobID|ConsumedEnergy|Elapsed\n1|1.50G|10:00:00\n")
    assert row.energy_j == pytest.approx(1.5e9)


def test_parsable_with_trailing_bar_reads_like_parsable2():
    a = parse_sacct(sacct_text(ORDERS[1], trailing="|"))
    assert a == parse_sacct(sacct_text(ORDERS[1]))


def test_a_file_without_header_is_refused_unless_columns_are_named(run, tmp_path):
    saved = tmp_path / "noheader.txt"
    saved.write_text(sacct_text(ORDERS[1], header=False))
    refused = report(run, f"--sacct={saved}", "--sacct-job", "7654321")
    assert refused.exit_code == 2 and "no sacct header line" in refused.output
    assert len(refused.output.strip().splitlines()) == 1
    named = report(run, f"--sacct={saved}", "--sacct-job", "7654321", "--sacct-columns", ",".join(ORDERS[1]))
    assert named.exit_code == 0 and f"{JOB_J / 3.6e6:.4g} kWh" in named.output


@pytest.mark.parametrize("case, text, job, says", [
    ("unknown job", sacct_text(ORDERS[0]), "999", "job 999 is not there (it holds 7654321, 7654400)"),
    ("no energy column", sacct_text(("JobID", "Elapsed", "NNodes")), "7654321", "no energy column"),
    ("NNodes read as energy", "JobID|ConsumedEnergyRaw|Elapsed\n7654321|2|02:00:14\n7654321.0|x|01:00:00\n",
     "7654321", "line 3: energy 'x'"),
    ("implausible", "JobID|ConsumedEnergyRaw|Elapsed|NNodes\n7654321|" + "1" * 27 + "|02:00:14|2\n",
     "7654321", "is implausible: more than mosaicml-a100's 400 W x 16 packages x 7214 s x 1.5"),
    ("step only", "JobID|ConsumedEnergyRaw|Elapsed\n7654321.0|5000|01:00:00\n", "7654321", "not there"),
])
def test_bad_sacct_input_is_refused_in_one_line_and_nothing_written(run, tmp_path, case, text, job, says):
    saved, out = tmp_path / "sacct.txt", tmp_path / "report.md"
    saved.write_text(text)
    result = report(run, f"--sacct={saved}", "--sacct-job", job, "-o", out)
    assert result.exit_code == 2, result.output
    assert says in result.output and len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_an_array_task_is_found_by_its_raw_id():
    text = "JobID|JobIDRaw|ConsumedEnergyRaw|Elapsed\n123_4|130|5000|00:10:00\n123_5|131|9000|00:10:00\n"
    (job,) = select_jobs(parse_sacct(text), ["130"], "fixture")
    assert job.job_id == "123_4" and job.energy_j == 5000


def test_a_saved_file_with_no_job_named_anywhere_asks_for_sacct_job(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.delenv("SLURM_JOBID", raising=False)
    steady_run(tmp_path / "plain", steps=2)
    saved = tmp_path / "sacct.txt"
    saved.write_text(sacct_text(ORDERS[0]))
    result = report(tmp_path / "plain", f"--sacct={saved}")
    assert result.exit_code == 2 and "--sacct-job ID" in result.output


def test_a_parse_error_raises_the_projects_error():
    with pytest.raises(InputFileError, match="fields where the header names"):
        parse_sacct("JobID|ConsumedEnergyRaw|Elapsed\n1|2|3|4|5\n")
