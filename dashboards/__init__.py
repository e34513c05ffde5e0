"""Plotly dashboards built from saved run records only (installed as olmo_green.dashboards).

`build_dashboard(run_dirs, output)` writes one self-contained HTML page;
`write_run_dashboard(run_dir)` is what the training loop calls at the end of a
run to write RUN/dashboard.html. Plotly is imported only when a page is built.
"""

from __future__ import annotations

from pathlib import Path


def build_dashboard(run_dirs: list[str | Path], output: str | Path | None = None, nodes: str | None = None,
                    **carbon_options) -> Path:
    """Write the dashboard of one or more runs (see dashboards/page.py); `nodes` is a shell
    pattern of the nodes whose devices the device panel draws."""
    from olmo_green.dashboards.page import build_dashboard as build

    return build(run_dirs, output, nodes, **carbon_options)


def write_run_dashboard(run_dir: str | Path, **carbon_options) -> Path:
    """Write RUN/dashboard.html for one finished (or interrupted) run and return its path.

    `carbon_options` are the report's (hardware, pue, intensity_kg_per_kwh,
    country, intensity_series); by default the run's config.yaml decides.
    """
    from olmo_green.dashboards.page import write_run_dashboard as write

    return write(run_dir, **carbon_options)
