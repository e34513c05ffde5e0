"""Energy panels: cumulative energy and emissions, energy per token, loss against energy.

Energy is accelerator energy (all devices), as in the model card's headline.
Carbon factors (PUE, location- and market-based intensity) come from the
reports layer through dashboards.carbon; this module never picks one itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from olmo_green.carbon import emissions_kg
from olmo_green.dashboards.carbon import RunReport
from olmo_green.dashboards.cumulative import cumulative_at_steps_j, cumulative_line
from olmo_green.dashboards.downsample import Envelope, buckets_for, envelope
from olmo_green.dashboards.figures import (
    PANEL_POINT_BUDGET,
    Panel,
    base_figure,
    compact,
    energy_unit,
    mass_unit,
    run_color,
)
from olmo_green.dashboards.rundata import RunData, step_energy_j
from olmo_green.errors import GreenError
from olmo_green.record import RunConfig
from olmo_green.reports.swings import PowerSwings

BASES = {"location": "solid", "market": "dash"}  # line dash per intensity basis


def _steps(run: RunData) -> np.ndarray:
    return run.steps["step"].to_numpy(dtype=float)


def _energy_at_step_ends_j(run: RunData) -> np.ndarray:
    """Cumulative accelerator energy at each step's end (cumulative.py: the record's window
    figures, exact at every step); NaN (not drawn) without samples."""
    return cumulative_at_steps_j(run)[0]


def _last_j(energies: list[np.ndarray]) -> float:
    """The largest final cumulative energy, for choosing a unit (0 when nothing is known)."""
    return max((float(np.nanmax(e)) for e in energies if np.isfinite(e).any()), default=0.0)


def _line(env: Envelope, name: str, color: str, hover: str, dash: str = "solid", **kw) -> go.Scatter:
    return go.Scatter(x=compact(env.x), y=compact(env.y), name=name, mode="lines",
                      line={"color": color, "width": 1.5, "dash": dash}, hovertemplate=hover, **kw)


def _add_emissions(fig: go.Figure, name: str, color: str, account: RunReport, energy_j: np.ndarray,
                   steps: np.ndarray, mass: tuple[str, float], buckets: int) -> list[Envelope]:
    """One line per intensity basis the report gives: kWh x PUE x kg/kWh, in the panel's mass unit."""
    unit, kg_per_unit = mass
    envelopes = []
    for basis, intensity in account.intensities_kg_per_kwh.items():
        env = envelope(steps, emissions_kg(energy_j, account.pue, intensity) / kg_per_unit, buckets)
        envelopes.append(env)
        fig.add_trace(_line(env, f"{name}: emissions, {basis}-based", color,
                            f"step %{{x:,.0f}}<br>%{{y:,.4g}} {unit} ({basis})<extra>{name}</extra>",
                            dash=BASES.get(basis, "dot")), row=2, col=1)
    return envelopes


def _emissions_figure(energy_unit_name: str, mass_unit_name: str) -> go.Figure:
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12, subplot_titles=(
        f"Cumulative accelerator energy ({energy_unit_name})", f"Cumulative emissions ({mass_unit_name})"))
    fig.update_layout(title={"text": "Cumulative energy and emissions"}, template="plotly_white",
                      height=620, margin={"t": 80, "r": 20, "l": 70, "b": 50})
    fig.update_xaxes(title_text="optimizer step", row=2, col=1)
    fig.update_yaxes(title_text=energy_unit_name, row=1, col=1)
    fig.update_yaxes(title_text=mass_unit_name, row=2, col=1)
    return fig


def energy_emissions_panel(runs: list[RunData], accounts: list[RunReport]) -> Panel:
    """Cumulative accelerator energy (top) and emissions by basis (bottom) over steps."""
    lines = [cumulative_line(run) for run in runs]  # each step, then the run's end: the report's total
    energies = [energy_j for _, energy_j in lines]
    unit, j_per_unit = energy_unit(_last_j(energies))
    kg_max = max((emissions_kg(_last_j([e]), a.pue, max(a.intensities_kg_per_kwh.values(), default=0.0))
                  for e, a in zip(energies, accounts, strict=True) if a.pue), default=0.0)
    mass = mass_unit(kg_max)
    fig = _emissions_figure(unit, mass[0])
    buckets = buckets_for(3 * len(runs), PANEL_POINT_BUDGET)
    envelopes, notes = [], []
    for i, (run, (steps, energy_j), account) in enumerate(zip(runs, lines, accounts, strict=True)):
        env = envelope(steps, energy_j / j_per_unit, buckets)
        envelopes.append(env)
        fig.add_trace(_line(env, f"{run.name}: accelerator energy", run_color(i),
                            f"step %{{x:,.0f}}<br>%{{y:,.4g}} {unit}<extra>{run.name}</extra>"), row=1, col=1)
        if account.unavailable:
            notes.append(f"{run.name}: no emissions drawn: {account.unavailable}")
            continue
        envelopes += _add_emissions(fig, run.name, run_color(i), account, energy_j, steps, mass, buckets)
        notes.append(f"{run.name}: {account.factors_text}")
    if all(a.unavailable for a in accounts):
        fig.add_annotation(text="Emissions unavailable: no report for these runs (see below).",
                           xref="x2 domain", yref="y2 domain", x=0.5, y=0.5, showarrow=False,
                           font={"size": 14, "color": "#a00"})
    panel = Panel("energy-emissions", "Cumulative energy and emissions", fig)
    panel.add_downsample_note(envelopes)
    panel.notes.append("Energy at each step: every window (steps, eval, checkpoint, redone steps of a "
                       "resumed run) that had ended, at the record's own figure, plus the energy spent "
                       "outside windows by then; the last point, at the last step, is the run's end: the "
                       "report's total.")
    panel.notes += notes
    return panel


def energy_per_token_panel(runs: list[RunData]) -> Panel:
    """Accelerator energy of each step's window divided by the step's tokens."""
    fig = base_figure("Energy per token", "optimizer step", "energy per token (J/token)")
    buckets = buckets_for(len(runs), PANEL_POINT_BUDGET)
    envelopes = []
    labels = speed_labels(runs)
    for i, run in enumerate(runs):
        tokens = run.steps["tokens"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            per_token = np.where(tokens > 0, step_energy_j(run) / tokens, np.nan)
        env = envelope(_steps(run), per_token, buckets)
        envelopes.append(env)
        fig.add_trace(_line(env, run.name + labels.get(run.name, ""), run_color(i),
                            "step %{x:,.0f}<br>%{y:,.4g} J/token<extra>%{fullData.name}</extra>"))
    panel = Panel("energy-per-token", "Energy per token", fig)
    panel.add_downsample_note(envelopes)
    panel.notes += ["Energy inside each step's window (eval and checkpoint energy excluded) / its tokens."]
    if labels:
        panel.notes.append("The overlaid runs differ in speed options (config.yaml): see the legend.")
    return panel


SPEED_OPTIONS = (("model", "compile", "compiled"), ("model", "activation_checkpointing", "AC"),
                 (None, "async_checkpoint", "async checkpoints"))


def speed_labels(runs: list[RunData]) -> dict[str, str]:
    """The legend suffix " (compiled, AC full)" per run name, when overlaid runs differ in the speed options
    (issue 13: where compile, activation checkpointing or async checkpoints changed J/token)."""
    options = {run.name: _speed_options(run) for run in runs}
    if len(runs) < 2 or len({tuple(sorted(o.items())) for o in options.values()}) < 2:
        return {}
    return {name: " (" + (", ".join(_speed_words(o)) or "eager" if o else "options unknown") + ")"
            for name, o in options.items()}


def _speed_options(run: RunData) -> dict:
    try:
        config = RunConfig.load(run.path)
    except GreenError:
        config = None  # the report the dashboard draws has named it
    if config is None:
        return {}  # no config: the run's options are unknown
    keys = {key: f"{section}.{key}" if section else key for section, key, _ in SPEED_OPTIONS}
    return {key: config.value(dotted) for key, dotted in keys.items() if config.has(dotted)}


def _speed_words(options: dict) -> list[str]:
    words = []
    for _, key, word in SPEED_OPTIONS:
        value = options.get(key)
        if value is True:
            words.append(word)
        elif isinstance(value, str) and value != "none":
            words.append(f"{word} {value}")
    return words


def loss_energy_panel(runs: list[RunData]) -> Panel:
    """Training loss against cumulative accelerator energy: quality bought per kWh."""
    energies = [_energy_at_step_ends_j(run) for run in runs]
    unit, j_per_unit = energy_unit(_last_j(energies))
    fig = base_figure("Loss against cumulative energy", f"cumulative accelerator energy ({unit})",
                      "training loss")
    buckets = buckets_for(len(runs), PANEL_POINT_BUDGET)
    envelopes = []
    for i, (run, energy_j) in enumerate(zip(runs, energies, strict=True)):
        env = envelope(energy_j / j_per_unit, run.steps["loss"].to_numpy(dtype=float), buckets)
        envelopes.append(env)
        fig.add_trace(_line(env, run.name, run_color(i),
                            f"%{{x:,.4g}} {unit}<br>loss %{{y:.4f}}<extra>%{{fullData.name}}</extra>"))
    panel = Panel("loss-energy", "Loss against cumulative energy", fig)
    panel.add_downsample_note(envelopes)
    return panel


def _swing_marks(fig: go.Figure, name: str, color: str, swings: PowerSwings, frame: pd.DataFrame) -> None:
    """Peak and floor as dotted lines; the largest drop (at the bucket it lands in) and rise (at
    the bucket it leaves) within 10 s as labelled markers on the line."""
    for level, label in ((swings.peak_w, "peak"), (swings.floor_w, f"floor ({swings.floor_phase})")):
        fig.add_hline(y=level / 1e3, line={"color": color, "dash": "dot", "width": 1},
                      annotation_text=f"{name}: {label} {level / 1e3:,.4g} kW",
                      annotation_position="top left")
    big = swings.largest
    marks = [(big.drop_time_s, big.drop_w, "largest drop", big.drop_phase, "triangle-down"),
             (big.rise_time_s, big.rise_w, "largest rise", big.rise_phase, "triangle-up")]
    for time_s, change_w, label, phase, symbol in marks:
        if time_s is None or not change_w:
            continue
        at = frame.loc[frame["time_s"] == time_s, "power_w"]
        text = (f"{label} within {big.window_s:g} s: {change_w / 1e3:,.4g} kW "
                f"({swings.percent_of_peak(change_w):.0f}% of peak, {phase})")
        fig.add_trace(go.Scatter(x=[(time_s + swings.bucket_s / 2) * 1000.0], y=[float(at.iloc[0]) / 1e3],
                                 mode="markers", name=f"{name}: {text}",
                                 marker={"color": color, "size": 12, "symbol": symbol},
                                 hovertemplate=f"{text}<extra>{name}</extra>"))


def job_power_panel(series: list[tuple[str, pd.DataFrame, PowerSwings | None]]) -> Panel:
    """The job's power over wall time (RunEnergy.job_power(): bucket means summed over nodes),
    one line per run, with its peak, floor and largest swings (reports/swings.py) marked.

    Takes the frames and swings, not run directories: the caller reads them (reports layer)."""
    fig = base_figure("Job power over wall time", "wall time (UTC)", "power (kW)")
    panel = Panel("job-power", "Job power", fig)
    envelopes = []
    buckets = buckets_for(max(len(series), 1), PANEL_POINT_BUDGET)
    for i, (name, frame, swings) in enumerate(series):
        if frame is None or frame.empty:
            continue
        color = run_color(i)
        start_s = frame["time_s"].to_numpy(dtype=float)
        env = envelope(start_s, frame["power_w"].to_numpy(dtype=float) / 1e3, buckets)
        envelopes.append(env)
        # Each bucket's mean holds from its start to its end (a step line), so even a run of one
        # bucket draws a segment; the last bucket's end closes the line.
        x = np.r_[env.x, start_s[-1] + float(frame["bucket_s"].iloc[-1])] * 1000.0
        fig.add_trace(go.Scatter(
            x=x, y=compact(np.r_[env.y, env.y[-1]]), name=f"{name}: job power", mode="lines",
            line={"color": color, "width": 1.5, "shape": "hv"},
            hovertemplate=f"%{{x|%Y-%m-%d %H:%M:%S}}<br>%{{y:,.4g}} kW<extra>{name}</extra>"))
        if swings is not None:
            _swing_marks(fig, name, color, swings, frame)
            panel.notes.append(_swings_note(name, swings))
    fig.update_xaxes(type="date")
    panel.add_downsample_note(envelopes)
    return panel


def _swings_note(name: str, swings: PowerSwings) -> str:
    one = swings.within(1.0)
    seen = "" if one.available else f" Swings within 1 s: unavailable ({one.why})."
    return (f"{name}: {swings.bucket_s:g} s bucket means; {swings.swings_over_half_peak} swing(s) larger "
            f"than half of peak.{seen}")
