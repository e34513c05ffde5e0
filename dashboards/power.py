"""Power panels: per device and per node, over steps or wall time, phases shaded.

Each line is drawn twice, once against steps and once against wall time
(hidden); two buttons swap which set is visible and the axis type. Both copies
share one downsampling, so peaks sit at the same samples in either view.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from olmo_green.dashboards.band import Band, band_note, power_band
from olmo_green.dashboards.downsample import Envelope, buckets_for, envelope
from olmo_green.dashboards.figures import (
    POWER_POINT_BUDGET,
    Panel,
    base_figure,
    compact,
    run_color,
)
from olmo_green.dashboards.rundata import RunData, device_buckets, node_series, step_of_time

STEP_VIEW, TIME_VIEW = "step", "time"
PHASE_COLORS = {"eval": "rgba(255,165,0,0.25)", "checkpoint": "rgba(128,0,128,0.18)"}
OTHER_PHASE_COLOR = "rgba(120,120,120,0.2)"
MAX_PHASE_WINDOWS = 2000  # per run and phase: more shapes slow the page, not the reader
# Up to this many windows, each is widened to 1/400 of the step axis so it can be seen; more
# would tint the whole axis, so they keep their true width (zoom in to see them).
WIDEN_AT_MOST = 100
PHASE_NOTE = (f"Shaded: eval and checkpoint windows. In the step view a window sits between the step it "
              f"follows and the next; up to {WIDEN_AT_MOST} windows of a kind are widened to 1/400 of the "
              "axis to be seen, more keep their true width (zoom in).")


def _add_line(fig: go.Figure, run: RunData, env: Envelope, name: str, color: str, group: str) -> None:
    """Add one series as a step-view trace and a hidden wall-time twin."""
    common = {"name": name, "legendgroup": group, "mode": "lines", "line": {"color": color, "width": 1}}
    fig.add_trace(go.Scatter(
        x=compact(step_of_time(run, env.x)), y=compact(env.y), meta=STEP_VIEW, **common,
        hovertemplate="step %{x:,.1f}<br>%{y:,.0f} W<extra>%{fullData.name}</extra>",
    ))
    fig.add_trace(go.Scatter(
        x=env.x * 1000.0, y=compact(env.y), meta=TIME_VIEW, visible=False, **common,
        hovertemplate="%{x|%Y-%m-%d %H:%M:%S}<br>%{y:,.0f} W<extra>%{fullData.name}</extra>",
    ))


def _merged_windows(phases: pd.DataFrame, min_gap_s: float) -> pd.DataFrame:
    """Merge windows closer than `min_gap_s` so a long run stays under MAX_PHASE_WINDOWS."""
    if len(phases) <= MAX_PHASE_WINDOWS:
        return phases
    start = phases["time_start_s"].to_numpy(dtype=float)
    end = phases["time_end_s"].to_numpy(dtype=float)
    new = np.r_[True, start[1:] - end[:-1] > min_gap_s]
    group = np.cumsum(new) - 1
    merged = phases.groupby(group).agg(
        step=("step", "first"), time_start_s=("time_start_s", "min"), time_end_s=("time_end_s", "max"))
    return merged.reset_index(drop=True)


def _rectangles(x0: np.ndarray, x1: np.ndarray, top: float) -> tuple[np.ndarray, np.ndarray]:
    """Closed rectangles from 0 to `top`, separated by NaN, for one filled trace."""
    xs = np.stack([x0, x0, x1, x1, x0, np.full_like(x0, np.nan)], axis=1).ravel()
    ys = np.tile([0.0, top, top, 0.0, 0.0, np.nan], len(x0))
    return xs, ys


def _phase_traces(fig: go.Figure, run: RunData, top_w: float) -> None:
    """Shade eval/checkpoint windows; in step view a few are widened to 1/400 of the axis."""
    if not len(run.phases) or not len(run.steps):
        return
    span_s = float(run.steps["time_end_s"].max() - run.steps["time_start_s"].min())
    span_steps = float(run.steps["step"].max() - run.steps["step"].min()) or 1.0
    for phase, rows in run.phases.groupby(run.phases["phase"].astype(str)):
        count = len(rows)
        rows = _merged_windows(rows, span_s / MAX_PHASE_WINDOWS)
        start = rows["time_start_s"].to_numpy(dtype=float)
        end = rows["time_end_s"].to_numpy(dtype=float)
        s0, s1 = step_of_time(run, start), step_of_time(run, end)
        if count <= WIDEN_AT_MOST:
            s1 = np.maximum(s1, s0 + span_steps / 400.0)
        color = PHASE_COLORS.get(phase, OTHER_PHASE_COLOR)
        name = f"{run.name}: {phase} ({count:,} window{'s' if count != 1 else ''})"
        for view, (x0, x1) in ((STEP_VIEW, (s0, s1)), (TIME_VIEW, (start * 1000.0, end * 1000.0))):
            xs, ys = _rectangles(x0, x1, top_w)
            fig.add_trace(go.Scatter(
                x=xs, y=ys, fill="toself", fillcolor=color, mode="lines", line={"width": 0},
                name=name, legendgroup=f"{run.name}:{phase}", meta=view, hoverinfo="name",
                visible=view == STEP_VIEW,
            ))


def _add_view_switch(fig: go.Figure) -> None:
    """Two buttons: x = step (linear axis) or wall time (date axis, UTC)."""
    def button(view: str, label: str, axis_type: str, title: str) -> dict:
        visible = [trace.meta == view for trace in fig.data]
        return {"label": label, "method": "update",
                "args": [{"visible": visible},
                         {"xaxis.type": axis_type, "xaxis.title.text": title, "xaxis.autorange": True}]}

    fig.update_layout(updatemenus=[{
        "type": "buttons", "direction": "right", "x": 1.0, "xanchor": "right", "y": 1.12, "yanchor": "bottom",
        "buttons": [button(STEP_VIEW, "x: step", "linear", "optimizer step"),
                    button(TIME_VIEW, "x: wall time", "date", "wall time (UTC)")],
    }])


def _show_view(fig: go.Figure, view: str) -> None:
    """Start in `view` (the buttons still switch)."""
    for trace in fig.data:
        trace.visible = trace.meta == view
    fig.update_xaxes(type="date" if view == TIME_VIEW else "linear",
                     title_text="wall time (UTC)" if view == TIME_VIEW else "optimizer step")
    fig.layout.updatemenus[0].active = 1 if view == TIME_VIEW else 0


def _power_figure(title: str, runs: list[RunData], series: list, panel: Panel) -> Panel:
    """Downsample each (run index, run, label, (time_s, power_w)); shading first, so lines sit on top."""
    fig = base_figure(title, "optimizer step", "power (W)")
    buckets = buckets_for(len(series), POWER_POINT_BUDGET)
    envelopes = [envelope(time_s, power_w, buckets) for _, _, _, (time_s, power_w) in series]
    top_w = max((float(np.nanmax(e.y)) for e in envelopes if np.isfinite(e.y).any()), default=1.0) * 1.05
    for run in runs:
        _phase_traces(fig, run, top_w)
    for n, ((i, run, label, _), env) in enumerate(zip(series, envelopes, strict=True)):
        name = f"{run.name}: {label}" if len(runs) > 1 else label
        _add_line(fig, run, env, name, run_color(i if len(runs) > 1 else n), run.name)
    _add_view_switch(fig)
    if not any(len(run.steps) >= 2 for run in runs):
        _show_view(fig, TIME_VIEW)
        panel.notes.append("No steps recorded: shown against wall time.")
    panel.figure = fig
    panel.add_downsample_note(envelopes)
    if any(len(r.phases) for r in runs):
        panel.notes.append(PHASE_NOTE)
    return panel


def _add_band(fig: go.Figure, run: RunData, band: Band, name: str, color: str) -> None:
    """Three traces per view: the low edge, the high edge filled down to it, the mean line on top.
    The edges draw no line and take no legend entry; the mean's entry toggles the whole group."""
    group = f"{run.name}:{name}"
    fill = _translucent(color)
    for view, x, when in ((STEP_VIEW, step_of_time(run, band.time_s), "step %{x:,.1f}"),
                          (TIME_VIEW, band.time_s * 1000.0, "%{x|%Y-%m-%d %H:%M:%S}")):
        x = compact(x)
        edge = {"x": x, "mode": "lines", "line": {"width": 0, "color": color}, "legendgroup": group,
                "showlegend": False, "meta": view, "visible": view == STEP_VIEW, "hoverinfo": "skip"}
        fig.add_trace(go.Scatter(y=compact(band.low_w), name=f"{name} lowest", **edge))
        fig.add_trace(go.Scatter(y=compact(band.high_w), name=f"{name} highest", fill="tonexty",
                                 fillcolor=fill, **edge))
        fig.add_trace(go.Scatter(
            x=x, y=compact(band.mean_w), name=name, legendgroup=group, mode="lines", meta=view,
            visible=view == STEP_VIEW, line={"color": color, "width": 1.2},
            customdata=np.column_stack([band.low_w, band.high_w]).astype(np.float32),
            hovertemplate=f"{when}<br>mean %{{y:,.0f}} W (lowest %{{customdata[0]:,.0f}}, highest "
                          "%{customdata[1]:,.0f})<extra>%{fullData.name}</extra>"))


def _translucent(color: str, alpha: float = 0.25) -> str:
    """#rrggbb as rgba with `alpha`, for a band's fill."""
    red, green, blue = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def device_power_panel(runs: list[RunData]) -> Panel:
    """Power of every device over steps: a min-max band per summary bucket around the mean."""
    series = [(i, run, label, rows, bucket_s)
              for i, run in enumerate(runs) for label, rows, bucket_s in device_buckets(run)]
    panel = Panel("power-device", "Power per device")
    panel.notes += [note for note in (run.detail_note for run in runs) if note]
    fig = base_figure("Power per device", "optimizer step", "power (W)")
    most = max(10, POWER_POINT_BUDGET // (3 * max(len(series), 1)))
    bands = [power_band(rows["bucket"].to_numpy(np.int64), rows["energy_j"].to_numpy(float),
                        rows["covered_s"].to_numpy(float), rows["min_w"].to_numpy(float),
                        rows["max_w"].to_numpy(float), bucket_s, most)
             for _, _, _, rows, bucket_s in series]
    top_w = max((float(np.nanmax(b.high_w)) for b in bands if np.isfinite(b.high_w).any()), default=1.0)
    for run in runs:
        _phase_traces(fig, run, top_w * 1.05)
    for n, ((i, run, label, _, _), band) in enumerate(zip(series, bands, strict=True)):
        name = f"{run.name}: {label}" if len(runs) > 1 else label
        _add_band(fig, run, band, name, run_color(i if len(runs) > 1 else n))
    fig.update_yaxes(rangemode="tozero")  # from 0 W: a steady device reads as steady, not as noise
    _add_view_switch(fig)
    if not any(len(run.steps) >= 2 for run in runs):
        _show_view(fig, TIME_VIEW)
        panel.notes.append("No steps recorded: shown against wall time.")
    panel.figure = fig
    panel.raw_points += sum(b.raw_buckets for b in bands)
    panel.shown_points += sum(b.shown_points for b in bands)
    panel.notes.append(band_note(bands))
    if any(len(r.phases) for r in runs):
        panel.notes.append(PHASE_NOTE)
    return panel


def node_power_panel(runs: list[RunData]) -> Panel:
    """Accelerator power summed per node, and a whole-node meter where the record has one."""
    series = [(i, run, label, (time_s, power_w))
              for i, run in enumerate(runs) for label, time_s, power_w in node_series(run)]
    panel = Panel("power-node", "Power per node")
    panel.notes.append("Accelerator power per node is the sum of its devices' mean power in each summary "
                       "bucket; a bucket with no reading (a telemetry gap) breaks the line.")
    return _power_figure("Power per node", runs, series, panel)
