"""The dashboard of a power log (`olmo-green dashboard --trace FILE...`): a page whose size does
not grow with the log's rows.

The log is streamed by traces/read.py, as `report --trace` reads it; what the page draws are the
aggregates that read keeps (each node's accelerator power per bucket, the job's power, each
node's cumulative energy at bucket edges), downsampled by dashboards/downsample.py to a fixed
number of points per line, and at most MAX_NODE_LINES node lines. So the page is bounded by
nodes and the point budgets, never by rows. The report's own text (energy, method, swings, what
was read) is printed below the panels: the figures on the page are the report's.
"""

from __future__ import annotations

import html
import time
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from olmo_green.dashboards.downsample import DEFAULT_BUCKETS, Envelope, buckets_for, envelope
from olmo_green.dashboards.figures import (
    POWER_POINT_BUDGET,
    Panel,
    annotate_if_empty,
    base_figure,
    compact,
    energy_unit,
    run_color,
)
from olmo_green.dashboards.page import STYLE, section_html  # one way to draw a section, as the run page
from olmo_green.units import J_PER_KWH

MAX_NODE_LINES = 64  # more lines are unreadable, and each costs page size: the rest are named as left out
GPU = ("gpu", "", "nan", "<NA>")  # a trace without a domain column holds accelerators (reports/energy)


def _ms(time_s: np.ndarray) -> np.ndarray:
    """UNIX seconds -> the milliseconds a Plotly date axis reads."""
    return np.asarray(time_s, dtype=float) * 1000.0


def node_power(node) -> tuple[np.ndarray, np.ndarray]:
    """(bucket start s, the node's accelerator power summed over its domains) from its buckets."""
    frames = [f for d, f in node.power.items() if d in GPU and len(f)]
    if not frames:
        return np.empty(0), np.empty(0)
    bucket = np.concatenate([f["bucket"].to_numpy(np.int64) for f in frames])
    power = np.concatenate([f["power_w"].to_numpy(float) for f in frames])
    keys, where = np.unique(bucket, return_inverse=True)
    return keys * node.bucket_s, np.bincount(where, power, len(keys))


def node_cumulative(node) -> tuple[np.ndarray, np.ndarray]:
    """(knot s, the node's accelerator energy to that time) from its timeline curves."""
    curves = [c for c in node.timeline if c.domain in GPU and len(c.time_s)]
    if not curves:
        return np.empty(0), np.empty(0)
    knots = np.unique(np.concatenate([c.time_s for c in curves]))
    return knots, sum(np.interp(knots, c.time_s, c.cumulative_j, left=0.0, right=c.total_j) for c in curves)


def _line(fig: go.Figure, env: Envelope, name: str, color: str, scale: float = 1.0,
          unit: str = "W", exact: bool = False) -> None:
    """One line; `exact` keeps float64 (the energy line, whose last point is the report's figure)."""
    y = env.y / scale if exact else compact(env.y / scale)
    fig.add_trace(go.Scatter(x=_ms(env.x), y=y, name=name, mode="lines",
                             line={"color": color, "width": 1},
                             hovertemplate=f"%{{x|%Y-%m-%d %H:%M:%S}}<br>%{{y:,.3f}} {unit}"
                                           "<extra>%{fullData.name}</extra>"))


def node_power_panel(energy) -> Panel:
    nodes = energy.nodes[:MAX_NODE_LINES]
    fig = base_figure("Accelerator power per node", "wall time (UTC)", "power (W)")
    fig.update_xaxes(type="date")
    per_line = buckets_for(len(nodes), POWER_POINT_BUDGET)
    panel = Panel("node-power", "Power per node", fig)
    envelopes = []
    for i, node in enumerate(nodes):
        env = envelope(*node_power(node), buckets=per_line)
        _line(fig, env, node.node, run_color(i))
        envelopes.append(env)
    panel.add_downsample_note(envelopes)
    if len(energy.nodes) > len(nodes):
        panel.notes.append(f"The first {len(nodes)} of {len(energy.nodes)} nodes are drawn; the job's "
                           "power and energy below count every node.")
    return panel


def job_power_panel(energy) -> Panel:
    fig = base_figure("Job accelerator power (all nodes)", "wall time (UTC)", "power (W)")
    fig.update_xaxes(type="date")
    frame = energy.job_power()
    env = envelope(frame["time_s"].to_numpy(float), frame["power_w"].to_numpy(float), DEFAULT_BUCKETS)
    _line(fig, env, "job", run_color(0))
    panel = Panel("job-power", "Job power", fig)
    panel.add_downsample_note([env])
    panel.notes.append("Each point is a bucket's mean power per node, summed over nodes; a bucket where "
                       "fewer nodes reported looks like a dip.")
    return panel


def cumulative_panel(energy, total_j: float) -> Panel:
    """The job's accelerator energy over time; its last point is the report's total."""
    unit, per_unit = energy_unit(total_j)
    fig = base_figure("Cumulative accelerator energy", "wall time (UTC)", f"energy ({unit})")
    fig.update_xaxes(type="date")
    parts = [node_cumulative(n) for n in energy.nodes]
    parts = [p for p in parts if len(p[0])]
    panel = Panel("cumulative-energy", "Cumulative energy", fig)
    if parts:
        knots = np.unique(np.concatenate([k for k, _ in parts]))
        job_j = sum(np.interp(knots, k, j, left=0.0, right=j[-1]) for k, j in parts)
        env = envelope(knots, job_j, DEFAULT_BUCKETS)  # a rising line: each bucket's max is its end
        _line(fig, env, "job", run_color(0), per_unit, unit, exact=True)
        panel.add_downsample_note([env])
    panel.notes.append(f"The last point is the report's accelerator energy: {total_j / J_PER_KWH:,.6g} kWh.")
    return panel


def describe(account, read) -> str:
    """What the page is: a trace, its format(s), nodes, devices, the energy and how it was obtained."""
    formats = sorted({f.format for f in read.files})
    devices = sum(1 for c in read.energy.devices if c.domain in GPU)
    files = ", ".join(html.escape(str(f.path)) for f in read.files)
    return (f"<p>Power log (trace) {files}: format {html.escape(', '.join(formats))}, "
            f"{len(read.energy.nodes):,} node(s), {devices:,} accelerator device(s), "
            f"{read.energy.samples:,} rows integrated.</p>"
            f"<p><b>Accelerator energy {account.gpu_energy_j / J_PER_KWH:,.6g} kWh</b>, "
            f"{html.escape(account.method)} from the log: <b>{html.escape(device_methods(account))}</b>.</p>")


def device_methods(account) -> str:
    """How each accelerator's energy was obtained: "counter" (the log's energy counter) or
    "power_integration" (its power readings integrated), with how many devices each."""
    counts: dict[str, int] = {}
    for device in account.devices:
        if device.domain in GPU:
            counts[device.method] = counts.get(device.method, 0) + 1
    return ", ".join(f"{method} ({n:,} device{'s' if n > 1 else ''})" for method, n in sorted(counts.items()))


def render_trace_page(account, read, report_text: str) -> str:
    """The whole HTML document: plotly.js inlined once, as the run dashboard does (opens offline)."""
    panels = [node_power_panel(read.energy), job_power_panel(read.energy),
              cumulative_panel(read.energy, account.gpu_energy_j),
              Panel("report-table", "Report", html=f"<pre>{html.escape(report_text)}</pre>")]
    for panel in panels[:3]:
        annotate_if_empty(panel.figure)
    title = f"olmo-green dashboard: trace {account.name}"
    nav = "".join(f"<a href='#{p.panel_id}'>{html.escape(p.title)}</a>" for p in panels)
    built = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style><script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
            f"<h1>{html.escape(title)}</h1><p class='note'>Built {built} from the power log only.</p>"
            f"{describe(account, read)}<nav>{nav}</nav>{''.join(section_html(p) for p in panels)}"
            "</body></html>")


def build_trace_dashboard(paths: list[str | Path], output: str | Path, fmt: str = "auto", options=None,
                          **carbon_options) -> Path:
    """Read the log(s) as `report --trace` does and write the page to `output` (atomic, 0644)."""
    from olmo_green.outputs import write_output
    from olmo_green.reports.formats import render
    from olmo_green.traces.report import read_and_account

    account, read = read_and_account(list(paths), fmt, options, **carbon_options)
    page = render_trace_page(account, read, render([account], "md", None))
    return write_output(Path(output), page)
