"""Every format's one-line refusal names FILE:LINE, the physical line of the file (1-based, headers,
blank, skipped and time lines counted), so a user can open the log there."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from olmo_green.errors import GreenError
from olmo_green.traces.formats import TraceOptions, open_trace
from tests.traces.write_formats import WRITERS, curve, write_nvidia_smi

BAD_W = 987654  # above any accelerator's power: refused as "looks like mW" wherever it is
TOKEN = re.compile(rf"(?<![\d.]){BAD_W}(?:\.0+)?(?!\d)")


def _bad_curve(sample: int = 150, device: int = 2):
    c = curve(samples=300, devices=4)
    c.power_w[device, sample] = BAD_W
    return c


def _line_of_bad(path: Path) -> int:
    hits = [n for n, line in enumerate(path.read_text().splitlines(), start=1) if TOKEN.search(line)]
    assert len(hits) == 1, hits  # the corrupted reading sits on exactly one line
    return hits[0]


def _refusal(path: Path, fmt: str, **options) -> str:
    with pytest.raises(GreenError) as caught:
        opened = open_trace(path, fmt, TraceOptions(**options))
        pd.concat(list(opened.batches))
    message = str(caught.value)
    assert "\n" not in message and "looks like mW" in message, message
    return message


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_a_bad_reading_mid_file_is_refused_at_its_line(tmp_path, fmt):
    path = tmp_path / f"node.{fmt}"
    WRITERS[fmt](_bad_curve(), path)
    if fmt == "prometheus":  # pretty-printed, so the pair has a line of its own
        path.write_text(json.dumps(json.loads(path.read_text()), indent=1))
    line = _line_of_bad(path)
    assert line > 10
    assert f"{path}:{line}: " in _refusal(path, fmt)


def test_a_one_line_prometheus_answer_is_line_1(tmp_path):
    path = tmp_path / "node.json"
    WRITERS["prometheus"](_bad_curve(), path)
    assert f"{path}:1: " in _refusal(path, "prometheus")


@pytest.mark.parametrize("fmt", ["nvidia-smi", "record"])
def test_lines_arrow_skips_are_counted(tmp_path, fmt):
    """Blank lines and rows with the wrong number of fields, which Arrow skips without saying where."""
    path = tmp_path / "node.csv"
    WRITERS[fmt](_bad_curve(sample=200), path)
    lines = path.read_text().splitlines()
    lines[30:30] = ["", "a torn, row", ""]
    lines[500:500] = ["", "x"]
    path.write_text("\n".join(lines) + "\n")
    line = _line_of_bad(path)
    assert f"{path}:{line}: " in _refusal(path, fmt)


def test_without_an_index_column_the_rounds_reader_names_the_line(tmp_path):
    path = tmp_path / "node.csv"
    write_nvidia_smi(_bad_curve(sample=120, device=3), path, index=False, units=False)
    assert f"{path}:{_line_of_bad(path)}: " in _refusal(path, "nvidia-smi", tz="+02:00")


def test_dropped_rows_before_the_bad_one_do_not_shift_its_line(tmp_path):
    """Rows the reader drops (an unreadable power) are not rows of the batch; the line stays the file's."""
    path = tmp_path / "node.csv"
    WRITERS["nvidia-smi"](_bad_curve(sample=200), path)
    lines = path.read_text().splitlines()
    for n in (20, 40, 41):
        lines[n] = lines[n].replace(" W,", " Watts?,", 1)
    path.write_text("\n".join(lines) + "\n")
    assert f"{path}:{_line_of_bad(path)}: " in _refusal(path, "nvidia-smi")


@pytest.mark.parametrize("fmt", ["dcgm", "amd-smi", "rocm-smi"])
def test_a_row_with_no_time_names_its_line(tmp_path, fmt):
    """The line-by-line readers know each row's line; a row before any time line is named by it."""
    path = tmp_path / "node.log"
    WRITERS[fmt](curve(samples=20, devices=2), path)
    lines = path.read_text().splitlines()
    if fmt == "dcgm":  # strip the `ts` stamps: dcgmi's own output
        lines = [line.split(" ", 1)[1] for line in lines]
    else:  # the first time line gone: the first block's rows have none
        lines = lines[1:]
    path.write_text("\n".join(lines) + "\n")
    first_row = next(n for n, line in enumerate(lines, start=1) if re.match(r"^(GPU |card|\d+,)", line))
    with pytest.raises(GreenError) as caught:
        pd.concat(list(open_trace(path, fmt, TraceOptions()).batches))
    assert f"{path}:{first_row}: " in str(caught.value), (first_row, str(caught.value))


def test_quoted_commas_crlf_and_a_bom_do_not_shift_the_line(tmp_path):
    """A record trace with a quoted comment holding commas, Windows line ends and a BOM."""
    rows = ["time_s,device,power_w,comment"]
    rows += [f'{1_700_000_000 + t},{d},300,"a, b, c"' for t in range(50) for d in range(2)]
    rows[60:60] = ["", 'torn,"x, y"']
    rows[81] = rows[81].replace(",300,", f",{BAD_W},")
    path = tmp_path / "node.csv"
    path.write_bytes(("\ufeff" + "\r\n".join(rows) + "\r\n").encode())
    assert f"{path}:{_line_of_bad(path)}: " in _refusal(path, "record")


def test_a_single_sample_device_is_named_at_its_line(tmp_path):
    """The refusal of a device seen once (no energy from one sample) names its row's line, found
    with the other single-sample devices in one more pass."""
    from click.testing import CliRunner

    from olmo_green.cli import cli
    from tests.cli_checks import one_line

    path = tmp_path / "node.csv"
    WRITERS["nvidia-smi"](curve(samples=100, devices=2), path)
    lines = path.read_text().splitlines()
    at = next(i for i in range(120, len(lines)) if ", 1, " in lines[i])
    lines.insert(at, lines[at].replace(", 1, ", ", 7, ", 1))  # device 7, once
    lines[40:40] = ["", "torn"]  # skipped by Arrow, before it
    path.write_text("\n".join(lines) + "\n")
    line = next(n for n, text in enumerate(lines, start=1) if ", 7, " in text)
    assert line == at + 3
    result = CliRunner().invoke(cli, ["report", "--trace", str(path), "--intensity", "0.5"])
    one_line(result, f"{path}:{line}: device 7 has a single sample")


def test_an_unknown_domain_is_named_at_its_line(tmp_path):
    rows = ["time_s,device,power_w,domain"]
    rows += [f"{1_700_000_000 + t},{d},300,gpu" for t in range(20) for d in range(2)]
    rows[25] = rows[25].replace(",gpu", ",accel")
    rows[10:10] = ["", "torn"]
    path = tmp_path / "node.csv"
    path.write_text("\n".join(rows) + "\n")
    line = next(n for n, text in enumerate(rows, start=1) if text.endswith(",accel"))
    with pytest.raises(GreenError, match=rf"{re.escape(str(path))}:{line}: unknown domain 'accel'"):
        pd.concat(list(open_trace(path, "record", TraceOptions()).batches))


def test_a_malformed_row_in_a_log_without_index_is_named_at_its_line(tmp_path):
    path = tmp_path / "node.csv"
    write_nvidia_smi(curve(samples=100, devices=4), path, index=False, units=False)
    lines = path.read_text().splitlines()
    lines[150] = lines[150].rsplit(",", 1)[0]  # a field short: Arrow skips it
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(GreenError, match=rf"{re.escape(str(path))}:151: a malformed row breaks the rounds"):
        pd.concat(list(open_trace(path, "nvidia-smi", TraceOptions(tz="+02:00")).batches))
