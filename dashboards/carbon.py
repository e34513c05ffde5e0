"""The reports layer, seen from the dashboard: one account per run, or why there is none.

Carbon numbers are the reports layer's (olmo_green.reports): the dashboard
draws its PUE and intensities and prints its table, and never computes a
factor of its own. Where the report cannot be made, the page says so and
shows no emissions: a missing number is better than an invented one.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from olmo_green.errors import ConfigError, GreenError

# The model card's columns (docs/design.md, Reports) with the factors it hides shown.
TABLE_HEADERS = ["Run", "Basis", "GPU Type", "Power Consumption From GPUs (MWh)", "PUE",
                 "Carbon Intensity (kg CO2e/kWh)", "Carbon Emissions (tCO2eq)", "Method", "Intensity source"]


@dataclass
class RunReport:
    """One run's report as the dashboard uses it: its JSON row and factors, or why there is none."""

    run_name: str
    row: dict | None = None  # the report's JSON form of this run
    pue: float | None = None
    intensities_kg_per_kwh: dict[str, float] = field(default_factory=dict)  # basis -> kg/kWh
    unavailable: str | None = None  # why there is no report, in words
    notes: list[str] = field(default_factory=list)  # the report's notes: faults, dropped values, PUE source

    @property
    def factors_text(self) -> str:
        bases = ", ".join(f"{b}-based {v:.3f} kg CO2e/kWh" for b, v in self.intensities_kg_per_kwh.items())
        return (f"emissions = accelerator energy x PUE {self.pue:g} x intensity ({bases}), from the report; "
                "for an hourly series that is its energy-weighted mean, so the curve ends at the report's "
                "figure while its shape follows energy.")


def _unavailable(run_name: str, reason: str) -> RunReport:
    return RunReport(run_name, unavailable=reason)


def report_for(run_dir: str | Path, energy=None, **carbon_options) -> RunReport:
    """The report's account of a run, or a RunReport saying why it is unavailable.

    `carbon_options` are the report's (hardware, pue, intensity_kg_per_kwh,
    country, intensity_series); by default the run's config.yaml decides.
    A bad option the user passed (unknown profile, PUE out of range) is raised,
    not shown: it is theirs to fix. Without options, nothing is raised, so the
    end of a training run always gets its page. `energy`: the run's RunEnergy, if read already.
    """
    name = Path(run_dir).resolve().name
    try:
        from olmo_green.reports import account_run
        from olmo_green.reports.jsonform import run_to_json
    except ImportError:
        return _unavailable(name, "the reports layer (olmo_green.reports) is not available in this build.")
    try:
        account = account_run(run_dir, energy=energy, **carbon_options)
    except GreenError as e:
        if carbon_options and isinstance(e, ConfigError):
            raise
        return _unavailable(name, f"the report could not be made: {e}")
    return RunReport(name, run_to_json(account), float(account.pue),
                      {basis: float(v) for basis, v in account.intensities_kg_per_kwh.items()},
                      notes=list(account.notes))


def _number(value, digits: int) -> str:
    return "n/a" if value is None else f"{float(value):,.{digits}f}"


def _significant(value, digits: int = 4) -> str:
    """Significant figures: a CPU demo's 8.3e-05 MWh must not print as 0.000000."""
    return "n/a" if value is None else f"{float(value):.{digits}g}"


def _rows(account: RunReport) -> list[str]:
    """One row per intensity basis the report gives; the headline first, marked."""
    row = account.row
    cells = []
    for line in row.get("carbon") or [{"basis": row.get("basis", ""), "headline": True,
                                        "intensity_kg_per_kwh": row["intensity_kg_per_kwh"],
                                        "emissions_tco2eq": row["emissions_tco2eq"], "source": ""}]:
        basis = f"{line['basis']}{' (headline)' if line.get('headline') else ''}"
        values = [account.run_name, basis, row["gpu_type"], _significant(row["gpu_energy_mwh"]),
                  _number(row["pue"], 2), _number(line["intensity_kg_per_kwh"], 3),
                  _significant(line["emissions_tco2eq"]), row["method"], line.get("source", "")]
        cells.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in values) + "</tr>")
    return cells


def table_html(accounts: list[RunReport]) -> str:
    """The report's table (the model card's columns), one row per run and basis."""
    head = "".join(f"<th>{html.escape(title)}</th>" for title in TABLE_HEADERS)
    rows = []
    for account in accounts:
        if account.row is None:
            message = html.escape(f"Report unavailable: {account.unavailable}")
            rows.append(f"<tr><td>{html.escape(account.run_name)}</td>"
                        f"<td colspan='{len(TABLE_HEADERS) - 1}' class='unavailable'>{message}</td></tr>")
        else:
            rows += _rows(account)
    table = f"<table class='report'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return table + _notes_html(accounts)


def _notes_html(accounts: list[RunReport]) -> str:
    """The report's notes (dropped sensor values, lost rows, resets, PUE source) under the table."""
    items = [f"<li>{html.escape(a.run_name)}: {html.escape(note)}</li>" for a in accounts for note in a.notes]
    return f"<ul class='report-notes'>{''.join(items)}</ul>" if items else ""
