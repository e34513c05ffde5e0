"""A month-long run (10^6 steps) stays under 10 MB and keeps its peaks."""

import numpy as np
import pytest

from olmo_green.dashboards.carbon import RunReport, report_for
from olmo_green.dashboards.page import build_panels, render_page
from olmo_green.dashboards.rundata import load_run
from olmo_green.dashboards.synthetic import SPIKE_W, SyntheticRun, write_synthetic_run

MAX_PAGE_BYTES = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def million_steps(tmp_path_factory):
    spec = SyntheticRun(steps=1_000_000, nodes=1, devices_per_node=2, sample_period_s=2.0,
                        eval_every=1000, checkpoint_every=5000)
    run_dir = write_synthetic_run(tmp_path_factory.mktemp("runs") / "million", spec)
    run = load_run(run_dir)
    # The report's account is a table row and two emissions lines: left out to keep the test fast.
    panels = build_panels([run], [RunReport("million", unavailable="left out of this size test")])
    return run, panels, render_page([run], panels)


def test_million_step_page_is_under_10_mb(million_steps):
    _, _, page = million_steps
    assert len(page.encode("utf-8")) < MAX_PAGE_BYTES


def test_million_step_power_keeps_every_device_peak(million_steps):
    run, panels, _ = million_steps
    device_panel = panels[0]
    devices = [t for t in device_panel.figure.data if t.meta == "step" and "/" in t.name]
    highs = [t for t in devices if t.fill == "tonexty"]  # each band's upper edge
    assert len(highs) == 2 and len(devices) == 6  # per device: low edge, high edge, mean line
    for trace in highs:
        assert float(np.nanmax(trace.y)) == pytest.approx(SPIKE_W)
    for trace in devices:  # the panel's point budget, shared by the three lines of two devices
        assert len(trace.y) <= 60_000 // 6 + 100  # plus gap breaks
    # The spike lives in one 10 s summary bucket's maximum, not in a re-read of the samples.
    assert float(run.detail.nodes[0].device_buckets["max_w"].max()) == SPIKE_W


def test_million_step_page_says_how_much_it_was_downsampled(million_steps):
    _, panels, _ = million_steps
    for panel in panels[:5]:
        assert any(note.startswith("Downsampled for display") for note in panel.notes), panel.panel_id


def test_many_devices_share_the_panel_budget(tmp_path):
    spec = SyntheticRun(steps=700, nodes=16, devices_per_node=8, eval_every=200, checkpoint_every=300)
    run_dir = write_synthetic_run(tmp_path / "wide", spec)
    run = load_run(run_dir, nodes="*")
    panels = build_panels([run], [report_for(run_dir)])
    band_traces = [t for t in panels[0].figure.data if t.meta == "step" and "/" in t.name]
    device_traces = [t for t in band_traces if t.showlegend is not False]  # the mean lines
    assert len(device_traces) == 128 and len(band_traces) == 3 * 128
    assert sum(len(t.y) for t in band_traces) <= 60_000 + 3 * 128  # budget, plus gap breaks
    assert all(0 < len(t.y) < 700 for t in band_traces)  # each device downsampled
    assert len(render_page([run], panels).encode("utf-8")) < MAX_PAGE_BYTES


def test_device_panel_draws_the_first_nodes_and_says_which(tmp_path):
    spec = SyntheticRun(steps=700, nodes=10, devices_per_node=2, eval_every=200, checkpoint_every=300)
    run_dir = write_synthetic_run(tmp_path / "ten", spec)
    run = load_run(run_dir)
    panels = build_panels([run], [report_for(run_dir)])
    device_traces = [t for t in panels[0].figure.data
                     if t.meta == "step" and "/" in t.name and t.showlegend is not False]
    assert len(device_traces) == 8 * 2
    assert any("devices of 8 of 10 nodes drawn" in note for note in panels[0].notes)
    node_traces = [t for t in panels[1].figure.data if t.meta == "step" and t.fill is None]
    assert len(node_traces) == 10  # the node panel keeps every node


def test_nodes_pattern_picks_the_device_panel_nodes(tmp_path):
    spec = SyntheticRun(steps=700, nodes=10, devices_per_node=2, eval_every=200, checkpoint_every=300)
    run_dir = write_synthetic_run(tmp_path / "ten", spec)
    run = load_run(run_dir, nodes="*9")
    assert [n.node for n in run.detail.nodes] == [run.energy.nodes[-1].node]
    with pytest.raises(Exception, match="matches none"):
        load_run(run_dir, nodes="nope*")
