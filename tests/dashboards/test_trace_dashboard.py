"""`olmo-green dashboard --trace`: a page per power log whose energy is the report's, whose size does
not grow with rows, and whose bad input is one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.units import J_PER_MWH
from tests.cli_checks import one_line
from tests.dashboards.trace_page import energy_j, figures
from tests.traces.write_formats import FILES, curve, write_all

FIXTURES = Path(__file__).parents[1] / "traces" / "fixtures"
FORMATS = {"nvidia-smi-units-index.csv": "nvidia-smi", "nvidia-smi-nounits-noindex.csv": "nvidia-smi",
           "nvidia-smi-instant.csv": "nvidia-smi", "dcgm-dmon-ts.log": "dcgm",
           "prometheus-range.json": "prometheus", "amd-smi-watch-mi250x.csv": "amd-smi",
           "rocm-smi-showpower-mi250x.csv": "rocm-smi", "record.csv": "record"}
MB = 1 << 20


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def report_j(*trace_args: str) -> float:
    result = run("report", *trace_args, "--intensity", "0.5", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["runs"][0]["gpu_energy_mwh"] * J_PER_MWH


def dashboard(out: Path, *trace_args: str) -> str:
    result = run("dashboard", *trace_args, "--intensity", "0.5", "-o", str(out))
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_each_fixture_draws_the_reports_energy(tmp_path, name):
    args = ("--trace", str(FIXTURES / name))
    page = dashboard(tmp_path / "page.html", *args)
    assert energy_j(page) == pytest.approx(report_j(*args), rel=1e-9)
    plots = figures(page)
    assert {"node-power-plot", "job-power-plot", "cumulative-energy-plot"} <= set(plots)
    assert f"format {FORMATS[name]}" in page and "Power log (trace)" in page
    result = run("report", *args, "--intensity", "0.5", "--format", "json")
    devices = json.loads(result.output)["runs"][0]["devices"]
    methods = {d["method"] for d in devices if d["domain"] in ("gpu", "")}
    assert methods and all(f"{m} (" in page for m in methods), methods


def test_the_same_curve_in_every_format_gives_one_energy_and_job_power(tmp_path):
    written = write_all(tmp_path, curve(samples=600, devices=4))
    energies, peaks = {}, {}
    for fmt in FILES:
        page = dashboard(tmp_path / f"{fmt}.html", "--trace", str(written[fmt]), "--trace-format", fmt,
                         "--trace-tz", "+02:00")
        energies[fmt] = energy_j(page)
        peaks[fmt] = float(np.nanmax(figures(page)["job-power-plot"][0][0]["y"]))
        assert f"format {fmt}" in page
    first = energies["record"]
    assert all(e == pytest.approx(first, rel=1e-6) for e in energies.values()), energies
    assert all(p == pytest.approx(peaks["record"], rel=1e-4) for p in peaks.values()), peaks
    assert "<b>counter (4 devices)</b>" in dashboard(tmp_path / "d.html", "--trace", str(written["dcgm"]))
    assert "<b>power_integration (4 devices)</b>" in dashboard(tmp_path / "n.html", "--trace",
                                                               str(written["nvidia-smi"]))


def _record_trace(path: Path, instants: int, devices: int = 2, period_s: float = 10.0) -> float:
    """A record trace (time_s,device,power_w) and its exact trapezoid energy."""
    import pyarrow as pa
    from pyarrow import csv

    time_s = 1_700_000_000.0 + np.arange(instants) * period_s
    power = np.round(400 + 250 * np.sin(np.arange(instants) / 37.0), 3)[:, None] + np.arange(devices)
    csv.write_csv(pa.table({"time_s": np.repeat(time_s, devices),
                            "device": np.tile(np.arange(devices), instants).astype(str),
                            "power_w": power.ravel()}), str(path))
    return float(sum(np.trapezoid(power[:, d], time_s) for d in range(devices)))


def test_page_size_does_not_grow_with_rows(tmp_path):
    sizes = []
    for instants in (30_000, 300_000):
        want_j = _record_trace(tmp_path / "node.csv", instants)
        page = dashboard(tmp_path / f"{instants}.html", "--trace", str(tmp_path / "node.csv"))
        assert energy_j(page) == pytest.approx(want_j, rel=1e-6)
        sizes.append((tmp_path / f"{instants}.html").stat().st_size)
    assert sizes[1] < 10 * MB
    assert abs(sizes[1] - sizes[0]) < 0.1 * MB, sizes  # 10x the rows, the same page


def test_many_nodes_draw_a_bounded_number_of_lines(tmp_path):
    from olmo_green.dashboards.trace import MAX_NODE_LINES

    lines = ["time_s,node,device,power_w"]
    for t in range(3):
        lines += [f"{1_700_000_000 + t * 10},n{n:03d},{n},{300 + n}" for n in range(MAX_NODE_LINES + 6)]
    (tmp_path / "many.csv").write_text("\n".join(lines) + "\n")
    page = dashboard(tmp_path / "many.html", "--trace", str(tmp_path / "many.csv"))
    assert len(figures(page)["node-power-plot"][0]) == MAX_NODE_LINES
    assert f"The first {MAX_NODE_LINES} of {MAX_NODE_LINES + 6} nodes are drawn" in page
    assert energy_j(page) == pytest.approx(report_j("--trace", str(tmp_path / "many.csv")), rel=1e-9)


@pytest.mark.parametrize("args, needle", [
    (["--trace", "{missing}", "-o", "{out}"], "missing.csv"),
    (["--trace", "{garbage}", "-o", "{out}"], "garbage.csv"),
    (["--trace", "{good}"], "needs an output file"),
    (["--trace", "{good}", "{run}", "-o", "{out}"], "not both"),
    ([], "RUN_DIR ... or --trace"),
    (["--trace", "{good}", "--nodes", "n*", "-o", "{out}"], "--nodes"),
    (["--trace", "{good}", "-o", "-"], "not text for stdout"),
    (["--trace", "{good}", "--trace-tz", "Mars/Olympus", "-o", "{out}"], "Mars/Olympus"),
    (["--trace", "{good}", "--country", "XXX", "-o", "{out}"], "XXX"),
])
def test_bad_input_is_one_line(tmp_path, args, needle):
    good = FIXTURES / "nvidia-smi-units-index.csv"
    (tmp_path / "garbage.csv").write_bytes(b"\x00\xff garbage, not a log\n" * 50)
    (tmp_path / "run").mkdir()
    paths = {"missing": tmp_path / "missing.csv", "garbage": tmp_path / "garbage.csv", "good": good,
             "run": tmp_path / "run", "out": tmp_path / "page.html"}
    carbon = [] if "--country" in args else ["--intensity", "0.5"]
    result = CliRunner().invoke(cli, ["dashboard", *[a.format(**paths) for a in args], *carbon])
    assert result.exit_code != 0
    one_line(result, needle, code=result.exit_code)
    assert not (tmp_path / "page.html").exists()
