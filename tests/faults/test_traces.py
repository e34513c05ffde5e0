"""A trace passes the checks of live samples: a bad one is one line naming file and line, never a figure.

Each case writes a small trace whose true energy is known (2 devices x 300 W x
10 s = 6000 J) in some broken or unusual form, and checks that the report
either gives the true figure or refuses in one line, exit code 2.
"""

from __future__ import annotations

import bz2
import gzip
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from olmo_green.cli import cli

T0 = 1_700_000_000.0
TRUE_J = 6000.0


def lines(devices: int = 2, n: int = 11, power_w: float = 300.0, time_scale: float = 1.0,
          counter: bool = False, power: bool = True) -> list[str]:
    header = ["time_s", "device"] + (["power_w"] if power else []) + (["energy_j"] if counter else [])
    rows = [",".join(header)]
    for device in range(devices):
        for i in range(n):
            row = [repr((T0 + i) * time_scale), str(device)]
            row += [repr(power_w)] if power else []
            row += [repr(power_w * i)] if counter else []
            rows.append(",".join(row))
    return rows


def write(path: Path, rows: list[str], newline: str = "\n", bom: bool = False) -> Path:
    path.write_bytes((("\ufeff" if bom else "") + newline.join(rows) + newline).encode("utf-8"))
    return path


def report(trace: Path, *extra: str):
    return CliRunner().invoke(cli, ["report", "--trace", str(trace), "--intensity", "0.5", "--format", "json",
                                    *extra])


def energy_j(result) -> float:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["runs"][0]["gpu_energy_mwh"] * 3.6e9


def refused(result, *needles: str) -> str:
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    text = result.output.strip()
    assert "\n" not in text, text
    for needle in needles:
        assert needle in text, text
    return text


# ---------------------------------------------------------------- read, the same figure


@pytest.mark.parametrize("form", ["plain", "bom", "crlf", "bom_crlf", "extra_columns", "upper_case_domain",
                                  "quoted_times"])
def test_harmless_variations_give_the_true_figure(tmp_path, form):
    rows = lines()
    if form == "extra_columns":
        rows = ["power_w,comment,device,time_s"] + [
            f"{r.split(',')[2]},x,{r.split(',')[1]},{r.split(',')[0]}" for r in rows[1:]]
    if form == "upper_case_domain":  # half the rows say GPU: still accelerators, all counted
        rows = [rows[0] + ",domain"] + [r + (",GPU" if i >= 11 else ",gpu") for i, r in enumerate(rows[1:])]
    if form == "quoted_times":
        rows = [rows[0]] + [f'"{r.split(",")[0]}",' + ",".join(r.split(",")[1:]) for r in rows[1:]]
    trace = write(tmp_path / "t.csv", rows, newline="\r\n" if "crlf" in form else "\n", bom="bom" in form)
    assert energy_j(report(trace)) == pytest.approx(TRUE_J)


@pytest.mark.parametrize("codec", ["gzip", "bz2"])
@pytest.mark.parametrize("name", ["t.csv.gz", "t.csv"])  # found by the first bytes, not by the name
def test_compressed_traces_are_read(tmp_path, codec, name):
    text = ("\n".join(lines()) + "\n").encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(text) if codec == "gzip" else bz2.compress(text))
    assert energy_j(report(path)) == pytest.approx(TRUE_J)


def test_truncated_gzip_and_other_archives_are_one_line(tmp_path):
    good = gzip.compress(("\n".join(lines(n=2000)) + "\n").encode())
    (tmp_path / "cut.csv.gz").write_bytes(good[: len(good) // 2])
    refused(report(tmp_path / "cut.csv.gz"), "cut.csv.gz", "cannot be read")
    with zipfile.ZipFile(tmp_path / "t.zip", "w") as archive:
        archive.writestr("t.csv", "\n".join(lines()))
    refused(report(tmp_path / "t.zip"), "zip archive", "gzip")
    (tmp_path / "t.xz").write_bytes(b"\xfd7zXZ\x00" + b"\x00" * 20)
    refused(report(tmp_path / "t.xz"), "xz")


# ---------------------------------------------------------------- refused, naming the line


def _replace(rows: list[str], line: int, row: str) -> list[str]:
    return rows[: line - 1] + [row] + rows[line:]


def _counter_in_mj() -> list[str]:
    """NVML's millijoules written as joules beside power in W."""
    rows = lines(counter=True)
    return rows[:1] + [",".join(r.split(",")[:3] + [repr(float(r.split(",")[3]) * 1e3)]) for r in rows[1:]]


@pytest.mark.parametrize("case, make, where, says", [
    ("milliseconds", lambda: lines(time_scale=1e3), ":2:", "milliseconds"),
    ("nanoseconds", lambda: lines(time_scale=1e9), ":2:", "nanoseconds"),
    ("power_inf", lambda: _replace(lines(), 3, f"{T0 + 1},0,inf"), ":3:", "infinite"),
    ("counter_inf", lambda: _replace(lines(counter=True), 4, f"{T0 + 2},0,300.0,inf"), ":4:", "infinite"),
    ("single_sample", lambda: lines() + [f"{T0},7,300.0"], ":24:", "device 7 has a single sample"),
    ("all_single", lambda: lines(n=1), ":2:", "single sample"),
    ("repeated_time", lambda: _replace(lines(), 4, f"{T0 + 1},0,900.0"), ":4:", "repeats"),
    # Dropped and counted since the streaming readers (issue 23, docs/method.md "What is refused,
    # dropped or counted"): a row no device can own, or a torn line, is read as no row at all; the
    # report's notes say how many and why, and the figure is that of the rows kept.
    ("empty_device", lambda: _replace(lines(), 2, f"{T0},,300.0"), "dropped",
     "1 row(s) dropped (empty device)"),
    ("counter_in_mj", lambda: _counter_in_mj(), ":3:", "not mJ"),
    ("counter_jump", lambda: _replace(lines(counter=True, power=False), 7, f"{T0 + 5},0,1e12"), ":7:",
     "jump"),
    ("absurd_power", lambda: lines(power_w=1e6), ":2:", "above any accelerator"),
    ("overflowing_power", lambda: lines(power_w=1e300), ":2:", "above any accelerator"),
    ("kilowatts", lambda: lines(power_w=0.3), "", "not kW"),
    ("negative_power", lambda: _replace(lines(), 4, f"{T0 + 2},0,-300.0"), ":4:", "negative"),
    ("torn_line", lambda: _replace(lines(), 4, f"{T0 + 2}{T0 + 3},0,300.0"), "dropped",
     "1 row(s) dropped (unreadable time)"),
])
def test_bad_traces_are_one_line(tmp_path, case, make, where, says):
    trace = write(tmp_path / f"{case}.csv", make())
    if where == "dropped":
        _dropped_and_counted(trace, says)
        return
    refused(report(trace), f"{case}.csv{where}", says)


def _dropped_and_counted(trace: Path, says: str) -> None:
    """Exit 0, the drop in the report's notes, and the energy of exactly the rows kept."""
    markdown = CliRunner().invoke(cli, ["report", "--trace", str(trace), "--intensity", "0.5"])
    assert markdown.exit_code == 0, markdown.output
    assert f"{trace.name}: {says}: not counted" in markdown.output, markdown.output
    kept = pd.read_csv(trace, on_bad_lines="skip", dtype={"device": str})  # what a user's pandas keeps
    kept = kept[pd.to_numeric(kept["time_s"], errors="coerce").notna() & kept["device"].notna()]
    expected_j = sum(300.0 * (g["time_s"].astype(float).max() - g["time_s"].astype(float).min())
                     for _, g in kept.groupby("device"))
    assert expected_j < TRUE_J + 1e-6
    assert energy_j(report(trace)) == pytest.approx(expected_j)


def test_unknown_domain_and_only_node_energy_are_one_line(tmp_path):
    rows = [lines()[0] + ",domain"] + [r + ",accel" for r in lines()[1:]]
    refused(report(write(tmp_path / "accel.csv", rows)), "unknown domain 'accel'")
    rows = [lines()[0] + ",domain"] + [r + ",node" for r in lines()[1:]]
    refused(report(write(tmp_path / "node.csv", rows)), "no accelerator")


@pytest.mark.parametrize("make", [lambda p: p.mkdir(), lambda p: p.write_bytes(b""),
                                  lambda p: p.write_text("time_s,device,power_w\n")])
def test_a_directory_an_empty_file_or_a_header_alone_is_one_line(tmp_path, make):
    path = tmp_path / "t.csv"
    make(path)
    refused(report(path), "t.csv")


def test_years_away_is_refused(tmp_path):
    for t0 in (1.0e8, 4.0e9):  # 1973, 2096
        rows = [lines()[0]] + [f"{t0 + i},0,300.0" for i in range(3)]
        refused(report(write(tmp_path / "t.csv", rows)), "t.csv:2:")


# ---------------------------------------------------------------- with the profile: dropped and counted
# Through `report --trace` (olmo_green/traces/), as a user runs it; these checked the retired
# reports/trace.py reader's frame before.


def _run_json(trace: Path, *extra: str) -> dict:
    result = report(trace, *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["runs"][0]


def test_power_above_3x_tdp_is_dropped_and_counted_with_the_profile(tmp_path):
    rows = _replace(lines(), 5, f"{T0 + 3},0,5000.0")  # an A100 (TDP 400 W) cannot draw 5 kW
    run = _run_json(write(tmp_path / "t.csv", rows), "--hardware", "mosaicml-a100")
    assert run["rejected_samples"] == {"above_limit": 1}
    without = _run_json(write(tmp_path / "without.csv", rows[:4] + rows[5:]), "--hardware", "mosaicml-a100")
    assert run["gpu_energy_mwh"] == pytest.approx(without["gpu_energy_mwh"], rel=1e-12)  # as if never read


def test_without_the_profile_the_same_value_is_refused(tmp_path):
    rows = _replace(lines(), 5, f"{T0 + 3},0,50000.0")
    refused(report(write(tmp_path / "t.csv", rows)), "t.csv:5:", "50000 W")


def test_a_clean_trace_has_no_rejection(tmp_path):
    run = _run_json(write(tmp_path / "t.csv", lines()), "--hardware", "h100")
    assert run["rejected_samples"] == {}
    assert run["gpu_energy_mwh"] * 3.6e9 == pytest.approx(TRUE_J)


def test_kilowatts_are_refused_against_the_profile_idle_power(tmp_path):
    trace = write(tmp_path / "t.csv", lines(power_w=3.0))  # 3 W: below an A100's idle 50 W / 10
    refused(report(trace, "--hardware", "mosaicml-a100"), "t.csv", "not kW")
    assert energy_j(report(trace)) == pytest.approx(TRUE_J / 100)  # without a profile, 3 W is possible


def test_a_large_sorted_trace_gives_its_exact_energy(tmp_path):
    time_s = T0 + np.arange(5000.0)
    frame = pd.DataFrame({"time_s": np.tile(time_s, 3), "device": np.repeat(["0", "1", "2"], 5000),
                          "power_w": 250.0})
    frame.to_csv(tmp_path / "big.csv", index=False)
    assert energy_j(report(tmp_path / "big.csv")) == pytest.approx(3 * 250.0 * 4999, rel=1e-12)
