"""Every output file is written whole or not at all, with normal permissions; a bad target is one line.

Covers report.*, -o targets of report/estimate/dashboard, dashboard.html and
prepare-data's token files.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from olmo_green import fileio
from olmo_green.cli import cli
from olmo_green.reports import write_report_files
from tests.cli_checks import one_line
from tests.reports.traces import constant_power_trace, write_run


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_reports_and_dashboard_are_0644_under_the_usual_umask(tmp_path, umask_022):
    run = write_run(tmp_path / "run")
    for path in write_report_files(run):
        assert mode(path) == 0o644, path
    assert invoke("dashboard", run).exit_code == 0
    assert mode(run / "dashboard.html") == 0o644
    out = tmp_path / "r.json"
    assert invoke("report", run, "--format", "json", "-o", out).exit_code == 0 and mode(out) == 0o644
    est = tmp_path / "e.md"
    result = invoke("estimate", "--model", "tiny", "--tokens", "1e9", "--hardware", "h100", "-o", est)
    assert result.exit_code == 0 and mode(est) == 0o644


def test_a_stricter_umask_is_respected(tmp_path):
    previous = os.umask(0o077)
    try:
        out = fileio.write_atomic(tmp_path / "x.md", "text")
    finally:
        os.umask(previous)
    assert mode(out) == 0o600


@pytest.mark.parametrize("verb", ["report", "estimate"])
def test_o_naming_a_directory_is_one_line(tmp_path, verb):
    run = write_run(tmp_path / "run")
    args = {"report": ["report", run], "estimate": ["estimate", "--model", "tiny", "--tokens", "1e9",
                                                    "--hardware", "h100"]}[verb]
    one_line(invoke(*args, "-o", tmp_path), "is a directory")


@pytest.mark.parametrize("target", ["/proc/olmo-green-report.md", "{tmp}/no/such/folder/r.md"])
def test_an_unwritable_o_target_is_one_line_and_leaves_nothing(tmp_path, target):
    run = write_run(tmp_path / "run")
    before = sorted(p.name for p in tmp_path.iterdir())
    one_line(invoke("report", run, "-o", target.format(tmp=tmp_path)))
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_failed_dashboard_write_keeps_the_previous_page(tmp_path, monkeypatch):
    run = write_run(tmp_path / "run")
    assert invoke("dashboard", run).exit_code == 0
    good = (run / "dashboard.html").read_bytes()

    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "replace", disk_full)
    one_line(invoke("dashboard", run), "dashboard.html", "No space left")
    assert (run / "dashboard.html").read_bytes() == good
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]


def test_o_through_a_symlink_writes_the_file_it_names(tmp_path):
    run = write_run(tmp_path / "run")
    target = tmp_path / "real.md"
    target.write_text("old")
    (tmp_path / "link.md").symlink_to(target)
    assert invoke("report", run, "-o", tmp_path / "link.md").exit_code == 0
    assert (tmp_path / "link.md").is_symlink() and target.read_text().startswith("# Energy and emissions")


def test_a_symlink_planted_in_a_run_directory_is_replaced_not_followed(tmp_path):
    run = write_run(tmp_path / "run")
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    (run / "report.md").symlink_to(precious)
    write_report_files(run)
    assert precious.read_text() == "keep me" and not (run / "report.md").is_symlink()


def test_o_to_a_stream_writes_into_it_and_o_dash_is_stdout(tmp_path):
    trace = constant_power_trace(tmp_path / "t.csv", 1e-3)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        result = invoke("report", "--trace", trace, "--intensity", "0.5", "--format", "csv", "-o", fifo)
        assert result.exit_code == 0, result.output
        assert os.read(reader, 100).startswith(b"name,gpu_type")
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # the stream was written into, not replaced
    result = invoke("report", "--trace", trace, "--intensity", "0.5", "--format", "csv", "-o", "-")
    assert result.output.startswith("name,gpu_type") and not Path("-").exists()


def test_report_of_a_run_and_a_trace_together_is_refused(tmp_path):
    run = write_run(tmp_path / "run")
    trace = constant_power_trace(tmp_path / "t.csv", 1e-3)
    one_line(invoke("report", run, "--trace", trace), "not both")


# ---------------------------------------------------------------- prepare-data


def test_prepare_data_says_an_input_is_a_directory(tmp_path):
    (tmp_path / "texts").mkdir()
    one_line(invoke("prepare-data", tmp_path / "texts", "--out", tmp_path / "out"), "is a directory")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content, says", [
    ('{"text": "hello"}\n[1, 2]\n', ":2:"), ('{"text": "hello"}\n{"text": 5}\n', "not a string"),
    ('{"text": "hello"}\n{"body": "x"}\n', '"text" field'),
])
def test_a_bad_jsonl_line_leaves_no_token_file_no_tmp_and_no_folder(tmp_path, content, says):
    source = tmp_path / "a.jsonl"
    source.write_text(content)
    out = tmp_path / "out"
    one_line(invoke("prepare-data", source, "--out", out), says)
    assert not out.exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "input_ids.npy").write_bytes(b"\x01\x00" * 10)
    one_line(invoke("prepare-data", source, "--out", existing), says)
    assert [p.name for p in existing.iterdir()] == ["input_ids.npy"]  # the old file, no .tmp
    assert (existing / "input_ids.npy").read_bytes() == b"\x01\x00" * 10


def test_prepare_data_to_an_unwritable_folder_is_one_line(tmp_path):
    source = tmp_path / "a.txt"
    source.write_text("hello")
    one_line(invoke("prepare-data", source, "--out", "/proc/olmo-green-tokens"), "cannot write")


def test_prepare_data_reads_invalid_utf8_as_replacement_characters(tmp_path):
    source = tmp_path / "a.jsonl"
    source.write_bytes(b'{"text": "caf\xe9"}\n')
    result = invoke("prepare-data", source, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert mode(tmp_path / "out" / "input_ids.npy") & 0o044  # readable by others, as open() makes it


# ---------------------------------------------------------------- convert


def _hf_checkpoint(folder: Path) -> Path:
    from olmo_green.model.olmo import OLMo

    OLMo.from_preset("tiny").save_pretrained(folder)
    return folder


def test_convert_to_an_unwritable_place_is_one_line(tmp_path):
    one_line(invoke("convert", "hf-to-olmo", _hf_checkpoint(tmp_path / "hf"), "/proc/olmo-green-native"),
             "cannot write")


def test_convert_on_a_full_disk_leaves_no_half_checkpoint(tmp_path, monkeypatch):
    import torch

    source = _hf_checkpoint(tmp_path / "hf")

    def disk_full(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 2565376 vs 2565264")

    monkeypatch.setattr(torch, "save", disk_full)
    empty = tmp_path / "native"
    empty.mkdir()
    one_line(invoke("convert", "hf-to-olmo", source, empty), "cannot write", "native")
    assert empty.is_dir() and not list(empty.iterdir())  # as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf", "native"]  # no .partial left
