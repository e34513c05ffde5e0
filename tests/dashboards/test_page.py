"""The page: every panel, self-contained, honest about downsampling and missing reports."""

import re

import numpy as np
import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.dashboards import build_dashboard, write_run_dashboard
from olmo_green.dashboards.carbon import RunReport, table_html
from olmo_green.dashboards.synthetic import SyntheticRun, write_synthetic_run
from olmo_green.errors import GreenError

PANEL_IDS = ["power-device", "power-node", "job-power", "energy-emissions", "energy-per-token", "loss-energy",
             "report-table"]


def test_write_run_dashboard_puts_every_panel_in_run_dashboard_html(small_run):
    path = write_run_dashboard(small_run)
    assert path == small_run / "dashboard.html"
    page = path.read_text(encoding="utf-8")
    for panel_id in PANEL_IDS:
        assert f"<section id='{panel_id}'" in page


def test_page_is_self_contained(small_run):
    page = write_run_dashboard(small_run).read_text(encoding="utf-8")
    assert "Plotly.newPlot" in page and len(page) > 3_000_000  # plotly.js itself is inlined
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=['\"]?(https?:)?//", page)


def _page_text(path) -> str:
    """The page with Plotly's escaped slashes (\\u002f) undone, to search for labels."""
    return path.read_text(encoding="utf-8").replace("\\u002f", "/")


def test_axis_titles_carry_units(small_run):
    page = _page_text(write_run_dashboard(small_run))
    for title in ["power (W)", "energy per token (J/token)", "cumulative accelerator energy (Wh)"]:
        assert title in page


def test_long_run_says_it_is_downsampled_and_by_how_much(tmp_path):
    run = write_synthetic_run(tmp_path / "long", SyntheticRun(steps=20_000, nodes=1, eval_every=1000,
                                                              checkpoint_every=5000))
    page = write_run_dashboard(run).read_text(encoding="utf-8")
    assert re.search(r"Downsampled for display: [\d,]+ points drawn as [\d,]+ \(\d+x fewer\)", page)
    assert re.search(r"<b>Downsampled for display</b>: [\d,]+ recorded points are drawn as [\d,]+", page)


def test_short_run_says_every_point_is_drawn(small_run):
    page = write_run_dashboard(small_run).read_text(encoding="utf-8")
    assert "Every recorded point is drawn" in page and "<b>Downsampled" not in page


def test_several_runs_are_overlaid_on_one_page(small_run, other_run, tmp_path):
    page = _page_text(build_dashboard([small_run, other_run], tmp_path / "both.html"))
    for name in ("small: node0/0 (gpu)", "other: node0/0 (gpu)", "small: accelerator energy",
                 "other: accelerator energy"):
        assert name in page


def test_several_runs_need_an_output_file(small_run, other_run):
    with pytest.raises(GreenError, match="-o"):
        build_dashboard([small_run, other_run])


def test_cli_writes_the_default_file(small_run):
    result = CliRunner().invoke(cli, ["dashboard", str(small_run)])
    assert result.exit_code == 0, result.output
    assert (small_run / "dashboard.html").is_file()


def test_cli_rejects_a_directory_that_is_not_a_run_record_in_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["dashboard", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("olmo-green: error:") and "not a run record" in lines[0]
    assert "Traceback" not in result.output


def test_missing_report_is_said_never_invented():
    table = table_html([RunReport("r1", unavailable="no carbon intensity known")])
    assert "Report unavailable: no carbon intensity known" in table
    assert not re.search(r"<td>\d", table)


def test_table_prints_the_reports_figures_per_basis():
    row = {"gpu_type": "A100-40GB (MosaicML)", "gpu_energy_mwh": 104.0, "pue": 1.1, "method": "counter",
           "intensity_kg_per_kwh": 0.656, "emissions_tco2eq": 75.05,
           "carbon": [{"basis": "location", "headline": True, "intensity_kg_per_kwh": 0.656,
                       "emissions_tco2eq": 75.05, "source": "model card"}]}
    table = table_html([RunReport("olmo-7b", row, 1.1, {"location": 0.656})])
    for text in ("A100-40GB (MosaicML)", "<td>104</td>", "1.10", "0.656", "<td>75.05</td>",
                 "location (headline)"):
        assert text in table


def test_table_keeps_small_figures_visible():
    row = {"gpu_type": "MI250X", "gpu_energy_mwh": 8.258e-05, "pue": 1.1, "method": "modelled",
           "intensity_kg_per_kwh": 0.079, "emissions_tco2eq": 7.19e-06}
    table = table_html([RunReport("demo", row, 1.1, {"location": 0.079})])
    assert "<td>8.258e-05</td>" in table and "<td>7.19e-06</td>" in table


def test_emissions_follow_the_reports_factors(small_run):
    from olmo_green import reports
    from olmo_green.dashboards.carbon import report_for
    from olmo_green.dashboards.page import build_panels
    from olmo_green.dashboards.rundata import load_run

    account = reports.account_run(small_run)
    panel = next(p for p in build_panels([load_run(small_run)], [report_for(small_run)])
                 if p.panel_id == "energy-emissions")
    lines = {t.name: t for t in panel.figure.data}
    assert set(lines) >= {"small: emissions, location-based", "small: emissions, market-based"}
    energy_kwh = account.gpu_energy_j / 3.6e6
    location_g = energy_kwh * account.pue * account.intensities_kg_per_kwh["location"] * 1000.0
    assert float(np.max(lines["small: emissions, location-based"].y)) == pytest.approx(location_g, rel=0.02)


def test_record_without_telemetry_draws_no_energy_and_says_so(small_run, tmp_path):
    run = tmp_path / "steps-only"
    run.mkdir()
    (run / "steps.csv").write_text((small_run / "steps.csv").read_text())
    page = write_run_dashboard(run).read_text(encoding="utf-8")
    assert "No data for this panel" in page and "Report unavailable" in page


def test_record_without_steps_shows_power_against_wall_time(small_run, tmp_path):
    run = tmp_path / "telemetry-only"
    (run / "telemetry").mkdir(parents=True)
    for chunk in (small_run / "telemetry").iterdir():
        (run / "telemetry" / chunk.name).write_bytes(chunk.read_bytes())
    page = write_run_dashboard(run).read_text(encoding="utf-8")
    assert "No steps recorded: shown against wall time." in page


def test_runs_with_the_same_folder_name_are_told_apart(small_run, tmp_path):
    copies = []
    for parent in ("a", "b"):
        run = tmp_path / parent / "run"
        (run / "telemetry").mkdir(parents=True)
        (run / "steps.csv").write_bytes((small_run / "steps.csv").read_bytes())
        for chunk in (small_run / "telemetry").iterdir():
            (run / "telemetry" / chunk.name).write_bytes(chunk.read_bytes())
        copies.append(run)
    page = _page_text(build_dashboard(copies, tmp_path / "both.html"))
    assert "a/run: node0/0 (gpu)" in page and "b/run: node0/0 (gpu)" in page


def test_a_bad_carbon_option_is_the_users_error_not_a_missing_report(small_run):
    result = CliRunner().invoke(cli, ["dashboard", str(small_run), "--hardware", "no-such-profile"])
    assert result.exit_code == 2
    assert result.output.strip().startswith("olmo-green: error:") and "no-such-profile" in result.output


def test_carbon_options_reach_the_report(small_run, tmp_path):
    out = tmp_path / "pue.html"
    args = ["dashboard", str(small_run), "-o", str(out), "--pue", "1.37"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "1.37" in out.read_text(encoding="utf-8")
    # The run's own accelerators stand: another profile's GPU type is refused (issue 24, finding 6).
    refused = CliRunner().invoke(cli, [*args[:4], "--hardware", "mosaicml-a100"])
    assert refused.exit_code != 0 and "ran on MI250X" in refused.output


def test_report_notes_are_shown_under_the_table():
    row = {"gpu_type": "MI250X", "gpu_energy_mwh": 1.0, "pue": 1.1, "method": "counter",
           "intensity_kg_per_kwh": 0.0, "emissions_tco2eq": 0.0}
    note = "12 implausible sensor value(s) dropped, not clamped <negative>"
    table = table_html([RunReport("run", row, 1.1, {"market": 0.0}, notes=[note])])
    assert "<li>run: 12 implausible sensor value(s) dropped, not clamped &lt;negative&gt;</li>" in table
