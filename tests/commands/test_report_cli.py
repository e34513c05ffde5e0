"""`olmo-green report`: formats, -o, and bad input as one line, exit 2, no partial file."""

import json

import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from tests.reports.traces import constant_power_trace, write_run


def _run(args):
    return CliRunner().invoke(cli, ["report", *args])


def _one_line_error(result, *needles):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("olmo-green: error:")
    for needle in needles:
        assert needle in lines[0]


def test_json_report_of_a_trace(tmp_path):
    trace = constant_power_trace(tmp_path / "t.csv", 104.0)
    result = _run(["--trace", str(trace), "--hardware", "mosaicml-a100", "--format", "json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.output)["runs"][0]
    assert round(run["emissions_tco2eq"], 2) == 75.05 and run["pue"] == 1.1


def test_several_runs_side_by_side_in_every_format(tmp_path):
    a, b = write_run(tmp_path / "a"), write_run(tmp_path / "b", hardware="lumi", node="n1")
    for fmt, marker in (("md", "| a |"), ("csv", "\na,"), ("latex", r"\end{tabular}")):
        result = _run([str(a), str(b), "--format", fmt])
        assert result.exit_code == 0, result.output
        assert marker in result.output
    runs = json.loads(_run([str(a), str(b), "--format", "json"]).output)["runs"]
    assert [r["hardware"] for r in runs] == ["mosaicml-a100", "lumi"]


def test_output_file_is_written_whole(tmp_path):
    trace = constant_power_trace(tmp_path / "t.csv", 1.0)
    out = tmp_path / "report.md"
    result = _run(["--trace", str(trace), "--hardware", "mosaicml-a100", "-o", str(out)])
    assert result.exit_code == 0 and result.output == ""
    assert out.read_text().startswith("# Energy and emissions")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


T0 = 1_700_000_000  # UNIX seconds: a trace's times must be plausible (checks.py)
BAD_TRACES = {
    "no_power": (f"time_s,device\n{T0},0\n{T0 + 1},0\n", ":1:", "power_w or energy_j"),
    "no_device": (f"time_s,power_w\n{T0},1\n{T0 + 1},1\n", ":1:", "device"),
    "back_in_time": (f"time_s,device,power_w\n{T0},0,1\n{T0 + 5},1,1\n{T0 + 2},1,1\n{T0 + 3},0,1\n",
                     ":4:", "sort"),
    # An empty reading is a gap since the streaming readers (issue 23): counted in the report's
    # notes, not refused (docs/method.md "What is refused, dropped or counted"); see below.
    "nan_power": (f"time_s,device,power_w\n{T0},0,100\n{T0 + 1},0,\n{T0 + 2},0,100\n", "gap",
                  "1 reading(s) N/A or not supported: gaps, not zero"),
    "negative_power": (f"time_s,device,power_w\n{T0},0,100\n{T0 + 1},0,-5\n", ":3:", "negative"),
}


@pytest.mark.parametrize("case", list(BAD_TRACES))
def test_bad_trace_is_one_line_naming_file_and_line(tmp_path, case):
    text, where, needle = BAD_TRACES[case]
    trace = tmp_path / f"{case}.csv"
    trace.write_text(text)
    out = tmp_path / "out.json"
    result = _run(["--trace", str(trace), "--intensity", "0.5", "--format", "json", "-o", str(out)])
    if where == "gap":
        assert result.exit_code == 0, result.output
        markdown = _run(["--trace", str(trace), "--intensity", "0.5"])
        assert markdown.exit_code == 0 and f"{case}.csv: {needle}" in markdown.output, markdown.output
        # 100 W over the 2 s the gap spans: the integration bridges a short gap, stating it
        assert json.loads(out.read_text())["runs"][0]["gpu_energy_mwh"] * 3.6e9 == pytest.approx(200.0)
        return
    _one_line_error(result, f"{case}.csv{where}", needle)
    assert list(tmp_path.iterdir()) == [trace]  # no partial output, no temporary file


def test_unknown_country_is_one_line(tmp_path):
    trace = constant_power_trace(tmp_path / "t.csv", 1.0)
    _one_line_error(_run(["--trace", str(trace), "--country", "XYZ"]), "XYZ", "alpha-3")


def test_unknown_hardware_is_one_line(tmp_path):
    trace = constant_power_trace(tmp_path / "t.csv", 1.0)
    _one_line_error(_run(["--trace", str(trace), "--hardware", "nope"]), "nope", "lumi")


def test_intensity_series_with_a_missing_hour(tmp_path):
    trace = constant_power_trace(tmp_path / "t.csv", 1e-3, start_s=1.7e9)
    series = tmp_path / "grid.csv"
    series.write_text("timestamp,g_per_kwh\n2023-11-14T22:00:00Z,100\n2023-11-15T00:00:00Z,100\n")
    out = tmp_path / "out.md"
    _one_line_error(_run(["--trace", str(trace), "--intensity-series", str(series), "-o", str(out)]),
                    "grid.csv:3:", "missing")
    assert not out.exists()


def test_intensity_series_with_a_negative_value(tmp_path):
    trace = constant_power_trace(tmp_path / "t.csv", 1e-3)
    series = tmp_path / "grid.csv"
    series.write_text("timestamp,g_per_kwh\n1699999200,100\n1700002800,-3\n")
    result = _run(["--trace", str(trace), "--intensity-series", str(series)])
    _one_line_error(result, "grid.csv:3:", "negative")


def test_missing_trace_is_one_line(tmp_path):
    _one_line_error(_run(["--trace", str(tmp_path / "none.csv")]), "none.csv", "not found")


def test_no_input_is_one_line():
    _one_line_error(_run([]), "RUN_DIR")


def test_hourly_series_weighs_the_run_hour_by_hour(tmp_path):
    # 1 MWh over exactly two hours from an hour boundary: half in each hour.
    trace = constant_power_trace(tmp_path / "t.csv", 1.0, devices=100, power_w=5e3, start_s=1699999200.0)
    series = tmp_path / "grid.csv"
    series.write_text("timestamp,g_per_kwh\n1699999200,100\n1700002800,300\n")
    result = _run(["--trace", str(trace), "--intensity-series", str(series), "--format", "json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.output)["runs"][0]
    assert run["intensity_kg_per_kwh"] == pytest.approx(0.2)
    assert run["emissions_tco2eq"] == pytest.approx(1000 * 0.2 / 1000)  # PUE 1.0: no --pue, no profile


@pytest.mark.parametrize("text", [f"time_s,device,power_w\n{T0},0,5\n{T0 + 1},0,abc\n",
                                  f"time_s,device,power_w\n{T0},0,5\n{T0 + 1},0,1,9\n"])
def test_unparsable_trace_names_the_line(tmp_path, text):
    # Since the streaming readers (issue 23) an unreadable row is dropped and counted, not refused
    # (docs/method.md). Here that leaves device 0 one sample: refused at the line of that sample,
    # saying rows were dropped.
    trace = tmp_path / "bad.csv"
    trace.write_text(text)
    _one_line_error(_run(["--trace", str(trace), "--intensity", "0.5"]), "bad.csv:2:", "single sample",
                    "1 unreadable row(s) of the trace were dropped")
    # With a readable row after it, the report goes on and says what it dropped.
    trace.write_text(text + f"{T0 + 2},0,5\n")
    result = _run(["--trace", str(trace), "--intensity", "0.5"])
    assert result.exit_code == 0 and "bad.csv: 1 row(s) dropped (" in result.output, result.output
