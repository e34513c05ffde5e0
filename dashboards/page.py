"""The page: every panel in one self-contained HTML file.

Plotly's JavaScript is inlined once in <head>, so the page opens offline on a
cluster login node and loads nothing from the network.
"""

from __future__ import annotations

import html
import time
from pathlib import Path

import plotly.io as pio
from plotly.offline import get_plotlyjs

from olmo_green.dashboards.carbon import RunReport, report_for, table_html
from olmo_green.dashboards.figures import Panel, annotate_if_empty
from olmo_green.dashboards.panels import (
    energy_emissions_panel,
    energy_per_token_panel,
    job_power_panel,
    loss_energy_panel,
)
from olmo_green.dashboards.power import device_power_panel, node_power_panel
from olmo_green.dashboards.rundata import RunData, load_run
from olmo_green.fileio import write_atomic
from olmo_green.outputs import write_output

DASHBOARD_FILE = "dashboard.html"
STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; }
section { margin: 2em 0; } .note { color: #555; font-size: 0.9em; margin: 0.2em 0; }
table.report { border-collapse: collapse; } table.report td, table.report th
{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
td.unavailable { color: #a00; } nav a { margin-right: 1em; }
"""


def build_panels(runs: list[RunData], accounts: list[RunReport]) -> list[Panel]:
    figures = [
        device_power_panel(runs),
        node_power_panel(runs),
        job_power_panel([_job_power(run) for run in runs]),
        energy_emissions_panel(runs, accounts),
        energy_per_token_panel(runs),
        loss_energy_panel(runs),
    ]
    for panel in figures:
        annotate_if_empty(panel.figure)
    table = Panel("report-table", "Report", html=table_html(accounts))
    table.notes.append("From the reports layer (olmo_green.reports), the model card's columns.")
    return [*figures, table]


def _job_power(run: RunData) -> tuple:
    """(name, the job's bucketed power, its swings) from the summaries, as the report computes them."""
    import pandas as pd

    from olmo_green.reports.swings import power_swings

    frame = run.energy.job_power()
    windows = pd.concat([run.steps, run.phases], ignore_index=True)
    return run.name, frame, power_swings(frame, windows) if len(frame) else None


def section_html(panel: Panel) -> str:
    """One panel as an HTML section (its figure without plotly.js, its notes); the trace page uses it too."""
    body = panel.html
    if panel.figure is not None:
        body = pio.to_html(panel.figure, include_plotlyjs=False, full_html=False,
                           config={"responsive": True, "displaylogo": False}, div_id=f"{panel.panel_id}-plot")
    notes = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in panel.notes)
    return (f"<section id='{panel.panel_id}' class='panel'><h2>{html.escape(panel.title)}</h2>"
            f"{body}{notes}</section>")


def _run_list(runs: list[RunData]) -> str:
    items = []
    for run in runs:
        steps = int(run.steps["step"].max()) if len(run.steps) else 0
        methods = ", ".join(run.methods) or "no accelerator samples"
        gaps = sum(c.gaps for c in run.accelerator_devices)
        gap_s = sum(c.gap_s for c in run.accelerator_devices)
        items.append(f"<li><b>{html.escape(run.name)}</b> ({html.escape(str(run.path))}): {steps:,} steps, "
                     f"{run.samples:,} samples; energy method: {html.escape(methods)}; "
                     f"telemetry gaps: {gaps:,} ({gap_s:,.0f} s)</li>")
    return f"<ul>{''.join(items)}</ul>"


def _summary(panels: list[Panel]) -> str:
    """One line at the top: is what the reader sees every point, or an envelope of them?"""
    raw = sum(p.raw_points for p in panels)
    shown = sum(p.shown_points for p in panels)
    if raw <= shown:
        return f"<p class='note'>Every recorded point is drawn ({raw:,} in all).</p>"
    return (f"<p class='note'><b>Downsampled for display</b>: {raw:,} recorded points are drawn as "
            f"{shown:,} ({raw / max(shown, 1):,.0f}x fewer), keeping each bucket's minimum and maximum, "
            "so peaks survive. Each panel says how much it was reduced.</p>")


def render_page(runs: list[RunData], panels: list[Panel]) -> str:
    """The whole HTML document."""
    title = "olmo-green dashboard: " + ", ".join(run.name for run in runs)
    nav = "".join(f"<a href='#{p.panel_id}'>{html.escape(p.title)}</a>" for p in panels)
    built = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style><script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='note'>Built {built} from the saved run records only.</p>"
        f"{_run_list(runs)}{_summary(panels)}<nav>{nav}</nav>"
        f"{''.join(section_html(p) for p in panels)}</body></html>"
    )


def _unique_names(run_dirs: list[str | Path]) -> list[str]:
    """Folder names, with their parent where two runs share one (a/run, b/run)."""
    paths = [Path(d).resolve() for d in run_dirs]
    names = [p.name for p in paths]
    return [f"{p.parent.name}/{p.name}" if names.count(p.name) > 1 else p.name for p in paths]


def build_dashboard(run_dirs: list[str | Path], output: str | Path | None = None, nodes: str | None = None,
                    **carbon_options) -> Path:
    """Write the dashboard of one or more runs; default RUN/dashboard.html for one run.

    `carbon_options` go to the reports layer (hardware, pue, intensity_kg_per_kwh,
    country, intensity_series). Raises InputFileError (a GreenError) for a path
    that is not a run record, and GreenError for several runs without an output.
    """
    from olmo_green.errors import GreenError

    if output is None and len(run_dirs) != 1:
        raise GreenError("several runs need an output file: add -o FILE.html.")
    runs = [load_run(d, nodes) for d in run_dirs]
    # The report's account from the energy just read: the summaries are read once, not twice.
    accounts = [report_for(d, energy=run.energy, **carbon_options)
                for d, run in zip(run_dirs, runs, strict=True)]
    for run, account, name in zip(runs, accounts, _unique_names(run_dirs), strict=True):
        run.name = account.run_name = name
    path = Path(output) if output is not None else Path(run_dirs[0]) / DASHBOARD_FILE
    page = render_page(runs, build_panels(runs, accounts))  # everything is computed before a file is touched
    if output is not None and not path.parent.exists():
        _make_folder(path.parent)
    # Atomic and 0644: a failed write leaves the previous page, never a truncated one.
    if output is not None:
        return write_output(path, page)
    return write_atomic(path, page, what="run directory")


def _make_folder(folder: Path) -> None:
    from olmo_green.errors import InputFileError

    try:
        folder.mkdir(parents=True)
    except OSError as e:
        raise InputFileError(f"cannot create {folder} ({e.strerror or e}); choose a writable -o") from e


def write_run_dashboard(run_dir: str | Path, **carbon_options) -> Path:
    """What the training loop calls at the end of every run: writes RUN/dashboard.html."""
    return build_dashboard([run_dir], **carbon_options)
