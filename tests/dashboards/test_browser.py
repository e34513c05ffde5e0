"""The page in a real browser: headless Chromium renders every panel without console errors."""

from pathlib import Path

import pytest

from olmo_green.dashboards import build_dashboard, write_run_dashboard
from tests.cli_checks import simulated_train
from tests.dashboards.browser import check_page, find_chromium

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FIGURE_PANELS = ["power-device", "power-node", "job-power", "energy-emissions", "energy-per-token",
                 "loss-energy"]

BROWSER = find_chromium()
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="Chromium is not installed (apt-get install -y chromium; .ci/run installs it)")


@pytest.fixture(scope="module")
def rendered(small_run):
    page = write_run_dashboard(small_run)
    return check_page(BROWSER, page, ARTIFACTS / "dashboard.png")


def test_page_loads_without_console_errors(rendered):
    assert rendered["errors"] == []


def test_every_panel_is_present_and_drawn(rendered):
    panels = {p["id"]: p for p in rendered["panels"]}
    assert set(panels) == set(FIGURE_PANELS) | {"report-table"}
    for panel_id in FIGURE_PANELS:
        assert panels[panel_id]["svg"], panel_id
        assert panels[panel_id]["drawn"] >= 1, panel_id
        assert panels[panel_id]["drawn"] == panels[panel_id]["traces"], panel_id


def test_report_table_is_rendered(rendered):
    table = next(p for p in rendered["panels"] if p["id"] == "report-table")
    assert table["table"] >= 2


def test_power_panel_switches_to_wall_time(rendered):
    assert rendered["switched"] and rendered["axis_type"] == "date"
    assert rendered["visible_after_switch"] >= 4  # the four devices, now against wall time
    assert rendered["axis_type_after_back"] == "linear"


def test_screenshot_is_saved(rendered):
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 50_000


def test_two_runs_overlaid_render_without_errors_and_are_screenshot(small_run, other_run):
    page = build_dashboard([small_run, other_run], ARTIFACTS / "dashboard-two-runs.html")
    png = ARTIFACTS / "dashboard-two-runs.png"
    rendered = check_page(BROWSER, page, png)
    assert rendered["errors"] == []
    assert all(p["drawn"] >= 2 for p in rendered["panels"] if p["id"] != "report-table")  # both runs
    assert png.stat().st_size > 50_000


def test_dashboard_of_a_simulated_training_run_renders_every_panel(tmp_path):
    """The acceptance path: `olmo-green train --simulate`, then `olmo-green dashboard`."""
    from click.testing import CliRunner

    from olmo_green.cli import cli

    run = tmp_path / "run"
    simulated_train(run, "lumi", 4, "model.sequence_length=32", "eval_interval=2")
    page = tmp_path / "simulated.html"
    built = CliRunner().invoke(cli, ["dashboard", str(run), "-o", str(page)])
    assert built.exit_code == 0, built.output
    rendered = check_page(BROWSER, page, ARTIFACTS / "dashboard-simulated-run.png")
    assert rendered["errors"] == []
    panels = {p["id"]: p for p in rendered["panels"]}
    assert set(panels) == set(FIGURE_PANELS) | {"report-table"}
    for panel_id in FIGURE_PANELS:
        assert panels[panel_id]["drawn"] >= 1 and panels[panel_id]["svg"], panel_id


def test_dashboard_of_a_trace_renders_every_panel(tmp_path):
    """`olmo-green dashboard --trace`: the power log's page in the browser, as a reader opens it."""
    from click.testing import CliRunner

    from olmo_green.cli import cli
    from tests.traces.write_formats import curve, write_all

    written = write_all(tmp_path, curve(samples=600, devices=4))
    page = tmp_path / "trace.html"
    built = CliRunner().invoke(cli, ["dashboard", "--trace", str(written["dcgm"]), "--intensity", "0.5",
                                     "-o", str(page)])
    assert built.exit_code == 0, built.output
    rendered = check_page(BROWSER, page, ARTIFACTS / "dashboard-trace.png")
    assert rendered["errors"] == []
    panels = {p["id"]: p for p in rendered["panels"]}
    assert set(panels) == {"node-power", "job-power", "cumulative-energy", "report-table"}
    for panel_id in ("node-power", "job-power", "cumulative-energy"):
        assert panels[panel_id]["svg"] and panels[panel_id]["drawn"] == panels[panel_id]["traces"] >= 1, \
            panels[panel_id]
    assert "gpu-node-07.dcgm.log" in panels["report-table"]["text"]  # the report, below the plots
