"""Garbage in steps.csv and events.jsonl: dropped (or skipped) and counted, never a traceback.

The report and the dashboard read steps through the same two functions
(record.read_steps, reports/steps.usable_steps), so they leave out and count
the same rows; the count is said by reports/steps.steps_notes.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from olmo_green import record as rr
from olmo_green.cli import cli
from olmo_green.dashboards.rundata import load_run
from olmo_green.errors import InputFileError
from olmo_green.reports import account_run
from olmo_green.reports.steps import clean_steps, steps_notes, usable_steps
from tests.reports.traces import write_run

HEADER = ",".join(rr.STEP_COLUMNS)
T0 = 1_700_000_000.0


def good_row(step: int, start: float, tokens: int = 1000, phase: str = "train") -> str:
    return f"{step},{T0 + start},{T0 + start + 10},{tokens},1.0,0.001,,{phase},0"


GOOD = [good_row(1, 10), good_row(2, 20), good_row(3, 30), good_row(4, 40)]
GARBAGE = {
    "too_many_fields": good_row(5, 50) + ",1,2,3",
    "torn_and_glued": good_row(5, 50)[:20] + good_row(6, 60),  # a killed writer's half line, then a resume
    "text_in_time": "5,soon,1700000060.0,1000,1.0,0.001,,train,0",
    "text_in_tokens": f"5,{T0 + 50},{T0 + 60},many,1.0,0.001,,train,0",
    "negative_tokens": good_row(5, 50, tokens=-1000),
    "absurd_tokens": good_row(5, 50, tokens=10**15),
    "ends_before_it_starts": f"5,{T0 + 60},{T0 + 50},1000,1.0,0.001,,train,0",
    "no_step": f",{T0 + 50},{T0 + 60},1000,1.0,0.001,,train,0",
    "half_a_step": good_row(5, 50).replace("5,", "5.5,", 1),
    "infinite_time": f"5,{T0 + 50},inf,1000,1.0,0.001,,train,0",
    "no_window": "5,,,1000,1.0,0.001,,train,0",
    "milliseconds": f"5,{(T0 + 50) * 1000},{(T0 + 60) * 1000},1000,1.0,0.001,,train,0",
}


def run_with_steps(tmp_path, rows: list[str], raw: bytes | None = None):
    run = write_run(tmp_path / "run", node_domain=False)
    (run / "steps.csv").write_bytes(raw if raw is not None else ("\n".join([HEADER, *rows]) + "\n").encode())
    return run


@pytest.mark.parametrize("case", list(GARBAGE))
def test_a_garbage_row_is_dropped_and_counted_the_same_in_report_and_dashboard(tmp_path, case):
    run = run_with_steps(tmp_path, GOOD[:2] + [GARBAGE[case]] + GOOD[2:])
    report_steps = clean_steps(rr.read_steps(run))
    dashboard = load_run(run)
    assert report_steps["step"].tolist() == [1, 2, 3, 4]
    assert dashboard.steps["step"].tolist() == [1, 2, 3, 4]
    assert report_steps.attrs["dropped_rows"] == usable_steps(rr.read_steps(run)).attrs["dropped_rows"] == 1
    assert "1 row(s) of steps.csv were garbage" in steps_notes(report_steps)[0]
    account = account_run(run)  # the figures do not change: a garbage row is not a window
    assert account.tokens == 4000
    assert sum(account.phases_j.values()) == pytest.approx(account.gpu_energy_j)


def test_invalid_utf8_a_bom_and_crlf_are_read(tmp_path):
    text = ("\ufeff" + "\r\n".join([HEADER, *GOOD]) + "\r\n").encode()
    bad = text.replace(b",train,0\r\n", b",tr\xffain,0\r\n", 1)  # the first row's phase is not UTF-8
    steps = rr.read_steps(run_with_steps(tmp_path, [], raw=bad))
    assert steps["step"].tolist() == [1, 2, 3, 4] and steps.attrs["dropped_rows"] == 0
    assert steps["phase"].iloc[0] == "tr\ufffdain"


def test_a_record_without_a_phase_column_reads_as_train(tmp_path):
    rows = [",".join(r.split(",")[:7]) for r in GOOD]
    run = run_with_steps(tmp_path, [], raw=("\n".join(["step,time_start_s,time_end_s,tokens,loss,lr,energy_j",
                                                       *rows]) + "\n").encode())
    steps = rr.read_steps(run)
    assert steps["phase"].tolist() == ["train"] * 4 and steps["attempt"].tolist() == [0] * 4


@pytest.mark.parametrize("content", [b"", HEADER.encode() + b"\n", HEADER.encode()])
def test_an_empty_or_header_only_steps_file_gives_energy_without_a_breakdown(tmp_path, content):
    account = account_run(run_with_steps(tmp_path, [], raw=content))
    assert account.gpu_energy_j == pytest.approx(60_000.0) and account.tokens is None


def test_a_headerless_or_unreadable_steps_file_is_one_line(tmp_path):
    run = run_with_steps(tmp_path, [], raw=("\n".join(GOOD) + "\n").encode())
    with pytest.raises(InputFileError, match="not a header"):
        rr.read_steps(run)
    (run / "steps.csv").unlink()
    (run / "steps.csv").mkdir()
    result = CliRunner().invoke(cli, ["report", str(run)])
    assert result.exit_code == 2 and "steps.csv: not a regular file" in result.output
    assert "Traceback" not in result.output


def test_a_resumed_writer_counts_attempts_past_garbage(tmp_path):
    """linelog numbers the next attempt from read_steps: garbage must not break that."""
    from olmo_green.record.linelog import StepLog

    run = run_with_steps(tmp_path, GOOD + [GARBAGE["text_in_time"]])
    log = StepLog(run)
    assert log.attempt == 1
    log.close()


# ---------------------------------------------------------------- events.jsonl


GOOD_EVENTS = ['{"kind": "gap_start", "source": "nvml", "time_s": 1700000060.0}',
               '{"kind": "gap_end", "source": "nvml", "time_s": 1700000063.5, "duration_s": 3.5}']
BAD_EVENTS = {
    "a_list": "[1, 2, 3]", "null": "null", "a_number": "42", "a_string": '"gap_end"',
    "no_kind": '{"source": "nvml"}', "kind_not_text": '{"kind": 5}',
    "rows_text": '{"kind": "records_dropped", "file": "steps.csv", "rows": "abc", "error": "x"}',
    "rows_negative": '{"kind": "records_dropped", "file": "steps.csv", "rows": -5, "error": "x"}',
    "counts_text": '{"kind": "rejected_samples", "source": "nvml", "counts": {"negative": "x"}}',
    "counts_negative": '{"kind": "rejected_samples", "source": "nvml", "counts": {"negative": -3}}',
    "counts_not_a_mapping": '{"kind": "rejected_samples", "source": "nvml", "counts": [1]}',
    "duration_text": '{"kind": "gap_end", "time_s": 1700000070.0, "duration_s": "long"}',
    "duration_nan": '{"kind": "gap_end", "time_s": 1700000070.0, "duration_s": NaN}',
    "duration_negative": '{"kind": "gap_end", "time_s": 1700000070.0, "duration_s": -1e9}',
    "duration_absurd": '{"kind": "resume_gap", "time_s": 1700000070.0, "duration_s": 1e12}',
    "not_json": "{kind: gap_end",
    "deeply_nested": "[" * 100_000 + "]" * 100_000,
}


@pytest.mark.parametrize("case", list(BAD_EVENTS))
def test_a_bad_event_line_is_skipped_and_counted(tmp_path, case):
    run = write_run(tmp_path / "run", node_domain=False)
    (run / "events.jsonl").write_text("\n".join([GOOD_EVENTS[0], BAD_EVENTS[case], GOOD_EVENTS[1]]) + "\n")
    events = rr.read_events(run)
    assert [e["kind"] for e in events] == ["gap_start", "gap_end"] and events.skipped == 1
    assert "1 line(s) of events.jsonl" in steps_notes(rr.read_steps(run), events)[0]
    result = CliRunner().invoke(cli, ["report", str(run), "--format", "json"])
    assert result.exit_code == 0, result.output
    run_json = json.loads(result.output)["runs"][0]
    assert np.isfinite(run_json["gpu_energy_mwh"]) and np.isfinite(run_json["emissions_tco2eq"])


def test_a_torn_last_event_line_is_dropped_without_being_counted(tmp_path):
    run = write_run(tmp_path / "run", node_domain=False)
    (run / "events.jsonl").write_text("\n".join(GOOD_EVENTS) + '\n{"kind": "gap_st')
    events = rr.read_events(run)
    assert len(events) == 2 and events.skipped == 0


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\n", b"\n\n\n"])
def test_empty_or_undecodable_events_are_read(tmp_path, content):
    run = write_run(tmp_path / "run", node_domain=False)
    (run / "events.jsonl").write_bytes(content)
    assert CliRunner().invoke(cli, ["report", str(run)]).exit_code == 0


@pytest.mark.parametrize("column,value", [("energy_j", "lots"), ("energy_j", "inf"), ("loss", "nan?"),
                                          ("lr", "fast")])
def test_garbage_in_an_energy_loss_or_lr_cell_empties_the_cell_not_the_row(tmp_path, column, value):
    """Before: the whole row went, its tokens with it (energy per token +33 % at exit 0)."""
    rows = [f"{i},{T0 + 10 * i},{T0 + 10 * i + 10},1000,1.0,0.001,100.0,train,0" for i in range(1, 5)]
    cells = rows[2].split(",")
    cells[rr.STEP_COLUMNS.index(column)] = value
    rows[2] = ",".join(cells)
    run = run_with_steps(tmp_path, rows)
    steps = rr.read_steps(run)
    assert steps["step"].tolist() == [1, 2, 3, 4] and np.isnan(steps[column].iloc[2])
    assert steps.attrs["dropped_rows"] == 0 and steps.attrs["garbage_cells"] == 1
    account = account_run(run)
    assert account.tokens == 4000
    assert any("1 energy_j, loss or lr cell(s) of steps.csv held text or inf" in n for n in account.notes)
    result = CliRunner().invoke(cli, ["report", str(run), "--verify"])
    assert result.exit_code == 1 and "1 cell(s) hold values no writer gives" in result.output


def test_a_garbage_row_fails_verify_but_a_torn_last_line_does_not(tmp_path):
    torn = run_with_steps(tmp_path / "torn", GOOD, raw=("\n".join([HEADER, *GOOD]) + "\n5,17000").encode())
    assert clean_steps(rr.read_steps(torn))["step"].tolist() == [1, 2, 3, 4]
    verified = CliRunner().invoke(cli, ["report", str(torn), "--verify"])
    assert "no writer gives" not in verified.output
    edited = run_with_steps(tmp_path / "edited", GOOD + [GARBAGE["negative_tokens"]])
    verified = CliRunner().invoke(cli, ["report", str(edited), "--verify"])
    assert verified.exit_code == 1 and "1 row(s) and 0 cell(s) hold values no writer gives" in verified.output


def test_a_diverged_loss_written_as_inf_is_unknown_not_a_finding(tmp_path):
    """The trainer writes repr(inf) for a loss that overflowed: honest, read as empty."""
    rows = [f"{i},{T0 + 10 * i},{T0 + 10 * i + 10},1000,1.0,0.001,100.0,train,0" for i in range(1, 5)]
    rows[2] = rows[2].replace(",1.0,0.001,", ",inf,0.001,")
    steps = rr.read_steps(run_with_steps(tmp_path, rows))
    assert steps["step"].tolist() == [1, 2, 3, 4] and np.isnan(steps["loss"].iloc[2])
    assert steps.attrs["garbage_cells"] == 0
