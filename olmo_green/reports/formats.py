"""RunAccounts -> text: Markdown, CSV, JSON and LaTeX, several runs side by side.

The summary table is the model card's (GPU type, energy from GPUs, intensity,
emissions) with the PUE and the method shown; Markdown adds each run's detail.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from olmo_green.reports.account import RunAccount
from olmo_green.reports.detail import run_detail_md
from olmo_green.reports.groups import group_by, group_rows, group_to_json, groups_markdown, total
from olmo_green.reports.jsonform import to_json_dict
from olmo_green.reports.mdtable import markdown_row

FORMATS = ("md", "csv", "json", "latex", "codecarbon")
CARD_HEADER = ["Run", "GPU Type", "Power Consumption From GPUs (MWh)", "PUE",
               "Carbon Intensity (kg CO2e/kWh)", "Carbon Emissions (tCO2eq)", "Method"]


def _num(value: float | None, digits: int = 4) -> str:
    """Up to `digits` significant figures, plain notation where sensible."""
    if value is None:
        return "n/a"
    if value == 0:
        return "0"
    return f"{value:.{digits}g}" if abs(value) < 1e6 else f"{value:,.0f}"


def _tonnes(value: float) -> str:
    """Two decimals as on the model card; small runs get significant figures instead of 0.00."""
    return f"{value:.2f}" if value == 0 or abs(value) >= 0.01 else f"{value:.3g}"


WATER_HEADER = ["Water Usage Effectiveness (L/kWh)", "Total Water Usage (kL)"]  # OLMo 2 paper, Table 19


def _wue(account: RunAccount) -> float | None:
    return account.holistic.water.wue_l_per_kwh if account.holistic else None


def shows_water(accounts: Sequence[RunAccount]) -> bool:
    """The WUE and water columns appear when any run has a WUE."""
    return any(_wue(a) is not None for a in accounts)


def card_header(accounts: Sequence[RunAccount]) -> list[str]:
    return CARD_HEADER[:-1] + (WATER_HEADER if shows_water(accounts) else []) + CARD_HEADER[-1:]


def card_cells(account: RunAccount, water: bool = False) -> list[str]:
    basis = account.headline.basis
    cells = [account.name, account.gpu_type, _num(account.gpu_energy_mwh), _num(account.pue, 3),
             f"{_num(account.intensity_kg_per_kwh, 3)} ({basis})", _tonnes(account.emissions_tco2eq)]
    if water:
        water_kl = account.holistic.water_kl if account.holistic else None
        # Table 19's layout: kL to a tenth for real runs (202.8); significant figures for small ones
        shown = "n/a" if water_kl is None else f"{water_kl:.1f}" if water_kl >= 10 else _num(water_kl, 3)
        cells += [_num(_wue(account), 3), shown]
    return cells + [account.method]


def to_markdown(accounts: Sequence[RunAccount], by: str | None = None) -> str:
    header, water = card_header(accounts), shows_water(accounts)
    lines = ["# Energy and emissions", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [markdown_row(card_cells(a, water)) for a in accounts]
    lines += ["", "Emissions = energy from GPUs x PUE x carbon intensity; the intensity's basis is in "
              "brackets (location: the local grid; market: what the site buys; given: passed by hand)."]
    if water:
        lines.append("Water = energy from GPUs x PUE x WUE (on-site + off-site), as in the OLMo 2 paper "
                     "(arXiv 2501.00656, §6.5); it is not part of the emissions.")
    lines.append("")
    if by is not None:
        lines += groups_markdown(accounts, by)
    for account in accounts:
        lines += run_detail_md(account)
    return "\n".join(lines).rstrip() + "\n"


CSV_COLUMNS = ["name", "gpu_type", "gpu_energy_mwh", "pue", "intensity_kg_per_kwh", "emissions_tco2eq",
               "method", "basis", "facility_energy_mwh", "error_band_rel", "node_energy_mwh", "tokens",
               "energy_per_token_j", "kwh_per_billion_tokens", "hardware", "intensity_source", "pue_source",
               "wue_l_per_kwh", "water_kl", "embodied_tco2eq", "all_hardware_energy_mwh", "gpu_hours",
               "tokens_per_kwh", "mfu"]
GROUP_CSV_COLUMNS = ["key", "value", "runs", "gpu_hours", "gpu_energy_mwh", "emissions_tco2eq", "water_kl",
                     "embodied_tco2eq"]


def to_csv(accounts: Sequence[RunAccount], by: str | None = None) -> str:
    """One row per run; with `by`, one row per group instead, and a total row (value "total")."""
    out = io.StringIO()
    if by is not None:
        groups = group_by(accounts, by)
        writer = csv.DictWriter(out, fieldnames=GROUP_CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for group in [*groups, total(groups)]:
            writer.writerow(group_to_json(group) | {"runs": len(group.runs), "value": group.label})
        return out.getvalue()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for run in to_json_dict(accounts)["runs"]:
        writer.writerow(run)
    return out.getvalue()


def to_json(accounts: Sequence[RunAccount], by: str | None = None) -> str:
    return json.dumps(to_json_dict(accounts, by), indent=2, allow_nan=False) + "\n"


_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def _tabular(header: list[str], rows: list[list[str]], spec: str) -> list[str]:
    head = " & ".join(latex_escape(h) for h in header) + r" \\"
    body = [" & ".join(latex_escape(c) for c in row) + r" \\" for row in rows]
    return [rf"\begin{{tabular}}{{{spec}}}", r"\hline", head, r"\hline", *body, r"\hline",
            r"\end{tabular}", ""]


def to_latex(accounts: Sequence[RunAccount], by: str | None = None) -> str:
    header, water = card_header(accounts), shows_water(accounts)
    spec = "ll" + "r" * (len(header) - 3) + "l"
    lines = _tabular(header, [card_cells(a, water) for a in accounts], spec)
    if by is not None:
        group_header, rows = group_rows(accounts, by)
        lines += _tabular(group_header, rows, "l" + "r" * (len(group_header) - 1))
    return "\n".join(lines)


def render(accounts: Sequence[RunAccount], fmt: str, by: str | None = None) -> str:
    """The report in one of FORMATS; `by` adds the rollup by that tag's value (groups.py)."""
    if fmt == "codecarbon":
        from olmo_green.reports.codecarbon import to_codecarbon_csv

        return to_codecarbon_csv(accounts)
    renderers = {"md": to_markdown, "csv": to_csv, "json": to_json, "latex": to_latex}
    return renderers[fmt](accounts, by)
