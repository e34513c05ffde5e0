"""Unclear messages made clear: each error names the file, the key or flag, and what would be
valid (issue 24, "Unclear"). One row per message: the command, and what its one line must say."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from tests.cli_checks import one_line
from tests.model.helpers import byte_data
from tests.reports.traces import write_run

SMALL = ["--max-steps", "1", "--set", "progress=false"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _text_file(tmp):
    path = tmp / "notes.txt"
    path.write_text("plain text, not tokens " * 50)
    return path


def _short_tokens(tmp):
    folder = byte_data(tmp / "short", n_tokens=100)
    return folder


def _run(tmp):
    return write_run(tmp / "run")


# (name, arguments with {tmp}/{fixture}, what the one line must hold)
CASES = [
    ("micro batch that does not divide the global batch",
     ["train", "--run-dir", "{tmp}/r", "--set", "batch.micro_batch_size=3", *SMALL],
     ["batch.global_batch_size (8)", "--set batch.micro_batch_size=2", "--set batch.global_batch_size=9"]),
    ("global batch larger than the data",
     ["train", "--run-dir", "{tmp}/r", "--data", "{short}", "--set", "model.sequence_length=8",
      "--set", "batch.global_batch_size=64", *SMALL],
     ["exceeds the 12 instances", "--set batch.global_batch_size=12", "--data"]),
    ("data shorter than one sequence",
     ["train", "--run-dir", "{tmp}/r", "--data", "{short}", *SMALL],
     ["input_ids.npy: 100 tokens", "model.sequence_length", "at most 100"]),
    ("a text file given as token data",
     ["train", "--run-dir", "{tmp}/r", "--data", "{text}", *SMALL],
     ["notes.txt", "is text, tokenize it: prepare-data"]),
    ("--set run_dir", ["train", "--set", "run_dir={tmp}/x", *SMALL], ["use --run-dir DIR"]),
    ("prepare-data input missing", ["prepare-data", "{tmp}/missing.txt", "--out", "{tmp}/o"],
     ["missing.txt does not exist", "text or JSONL"]),
    ("prepare-data tokenizer missing",
     ["prepare-data", "{text}", "--out", "{tmp}/o", "--tokenizer", "{tmp}/tok.json"],
     ["--tokenizer", "tok.json does not exist", "tokenizer.json"]),
    ("prepare-data tokenizer not JSON",
     ["prepare-data", "{text}", "--out", "{tmp}/o", "--tokenizer", "{text}"],
     ["--tokenizer", "notes.txt is not a tokenizers JSON file"]),
    ("prepare-data into a run's record", ["prepare-data", "{text}", "--out", "{run}/telemetry"],
     ["--out", "run record", "telemetry"]),
    ("dashboard -o -", ["dashboard", "{run}", "-o", "-"], ["-o dashboard.html"]),
    ("report -o onto steps.csv", ["report", "{run}", "-o", "{run}/steps.csv"], ["run record", "steps.csv"]),
]


@pytest.mark.parametrize("name, args, says", CASES, ids=[c[0] for c in CASES])
def test_each_unclear_message_now_names_what_and_how_to_fix(tmp_path, monkeypatch, name, args, says):
    monkeypatch.chdir(tmp_path)
    fixtures = {"tmp": tmp_path, "text": _text_file(tmp_path), "short": _short_tokens(tmp_path),
                "run": _run(tmp_path)}
    result = invoke(*[a.format(**fixtures) for a in args])
    one_line(result, *says)
    assert not (tmp_path / "-").exists()


def test_under_two_ranks_the_batch_message_fits_the_micro_batch(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")  # as torchrun --nproc-per-node 2 sets it; checked before init
    result = invoke("train", "--model", "tiny", "--run-dir", tmp_path / "r", *SMALL)
    one_line(result, "world size (2)", "--set batch.micro_batch_size=4")
    assert not (tmp_path / "r").exists()


def test_a_rejected_sample_count_of_1e30_is_no_count_in_the_report(tmp_path):
    run = _run(tmp_path)
    with (run / "events.jsonl").open("a") as f:
        for count in (1e30, 3):  # 1e30 is finite and whole: the reader's old rule let it through
            f.write(json.dumps({"kind": "rejected_samples", "time_s": 1.7e9, "counts": {"negative": count}}))
            f.write("\n")
    result = invoke("report", run)
    assert result.exit_code == 0, result.output
    assert "1,000,000,000,000,000" not in result.output  # the garbage line is skipped and said so
    assert "3 implausible sensor value(s)" in result.output and "not valid events" in result.output
