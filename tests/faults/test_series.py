"""An hourly intensity series passes the rule for numbers: the wrong unit is refused, never used.

The run draws 6000 J within one hour; at 656 g/kWh and PUE 1.1 that is 1.2027e-06 t.
A series in kg/kWh would make it 1000x smaller, one in mg/kWh 1000x larger.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from olmo_green.carbon import read_intensity_series
from olmo_green.cli import cli
from tests.reports.traces import write_run

HOUR0 = 1_699_995_600  # an hour boundary before the run of write_run (1.7e9 .. +100 s)
TRUE_T = 60_000.0 * 1.1 / 3.6e6 * 0.656 / 1000  # write_run: 2 GPUs x 300 W x 100 s


def series(path: Path, values: list[float], times: list[str] | None = None,
           header: str = "timestamp,g_per_kwh", newline: str = "\n", bom: bool = False) -> Path:
    times = times or [str(HOUR0 + 3600 * i) for i in range(len(values))]
    text = newline.join([header] + [f"{t},{v}" for t, v in zip(times, values, strict=True)]) + newline
    path.write_bytes((("\ufeff" if bom else "") + text).encode())
    return path


def report(run: Path, series_path: Path):
    args = ["report", str(run), "--intensity-series", str(series_path), "--format", "json"]
    return CliRunner().invoke(cli, args)


def refused(result, *needles: str) -> None:
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert result.output.strip().count("\n") == 0
    for needle in needles:
        assert needle in result.output, result.output


@pytest.fixture
def run(tmp_path):
    return write_run(tmp_path / "run")


def test_a_good_series_gives_the_true_figure_also_with_bom_crlf_and_gzip(run, tmp_path):
    plain = series(tmp_path / "s.csv", [656.0, 656.0])
    crlf = series(tmp_path / "b.csv", [656.0, 656.0], newline="\r\n", bom=True)
    zipped = tmp_path / "s.csv.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    for path in (plain, crlf, zipped):
        result = report(run, path)
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["runs"][0]["emissions_tco2eq"] == pytest.approx(TRUE_T)


def test_a_series_in_kg_per_kwh_is_refused(run, tmp_path):
    refused(report(run, series(tmp_path / "s.csv", [0.656, 0.7])), "looks like kg/kWh", "656, not 0.656")


def test_an_absurd_intensity_is_refused_naming_the_line(run, tmp_path):
    refused(report(run, series(tmp_path / "s.csv", [656.0, 656000.0])), "s.csv:3:", "656, not 656000")


def test_an_all_zero_series_is_a_possible_market_series(tmp_path):
    assert read_intensity_series(series(tmp_path / "s.csv", [0.0, 0.0])).g_per_kwh.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("times, says", [
    ([str(HOUR0 * 1000), str((HOUR0 + 3600) * 1000)], "milliseconds"),
    (["656", "656"], "before 2000"),  # the columns swapped: the first column is read as times
])
def test_implausible_times_are_refused(run, tmp_path, times, says):
    refused(report(run, series(tmp_path / "s.csv", [656.0, 656.0], times=times)), "s.csv:2:", says)


def test_naive_timestamps_are_read_as_utc_and_the_source_says_so(tmp_path):
    naive = read_intensity_series(series(tmp_path / "n.csv", [656.0, 656.0],
                                         times=["2023-11-14T21:00:00", "2023-11-14T22:00:00"]))
    zoned = read_intensity_series(series(tmp_path / "z.csv", [656.0, 656.0],
                                         times=["2023-11-14T23:00:00+02:00", "2023-11-15T00:00:00+02:00"]))
    assert naive.hour_start_s.tolist() == zoned.hour_start_s.tolist()
    assert "naive times read as UTC" in naive.source and "UTC" not in zoned.source


def test_a_text_column_is_named(run, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(f"timestamp,zone,g_per_kwh\n{HOUR0},FI,656\n{HOUR0 + 3600},FI,656\n")
    refused(report(run, path), "column 'zone' holds no numbers")


@pytest.mark.parametrize("make", [lambda p: p.mkdir(), lambda p: p.write_bytes(b""),
                                  lambda p: p.write_bytes(b"timestamp,g\n\xff\xfe,1\n")])
def test_a_directory_an_empty_or_undecodable_file_is_one_line(run, tmp_path, make):
    path = tmp_path / "s.csv"
    make(path)
    refused(report(run, path), "s.csv")


def test_quarter_hours_and_a_repeated_hour_are_refused(run, tmp_path):
    quarter = [str(HOUR0 + 900 * i) for i in range(4)]
    refused(report(run, series(tmp_path / "q.csv", [656.0] * 4, times=quarter)), "not one hour apart")
    repeated = [str(HOUR0), str(HOUR0 + 3600), str(HOUR0 + 3600)]
    refused(report(run, series(tmp_path / "r.csv", [656.0] * 3, times=repeated)), "r.csv:4:")


def test_the_dashboard_refuses_a_bad_series_the_user_passed(run, tmp_path):
    result = CliRunner().invoke(cli, ["dashboard", str(run), "--intensity-series",
                                      str(series(tmp_path / "s.csv", [0.656, 0.7]))])
    refused(result, "looks like kg/kWh")
    assert not (run / "dashboard.html").exists()
