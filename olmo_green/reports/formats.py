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
from olmo_green.reports.jsonform import to_json_dict

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


def card_cells(account: RunAccount) -> list[str]:
    basis = account.headline.basis
    return [account.name, account.gpu_type, _num(account.gpu_energy_mwh), _num(account.pue, 3),
            f"{_num(account.intensity_kg_per_kwh, 3)} ({basis})", _tonnes(account.emissions_tco2eq),
            account.method]


def to_markdown(accounts: Sequence[RunAccount]) -> str:
    lines = ["# Energy and emissions", "",
             "| " + " | ".join(CARD_HEADER) + " |", "|" + "---|" * len(CARD_HEADER)]
    lines += ["| " + " | ".join(card_cells(a)) + " |" for a in accounts]
    lines += ["", "Emissions = energy from GPUs x PUE x carbon intensity; the intensity's basis is in "
              "brackets (location: the local grid; market: what the site buys; given: passed by hand).", ""]
    for account in accounts:
        lines += run_detail_md(account)
    return "\n".join(lines).rstrip() + "\n"


CSV_COLUMNS = ["name", "gpu_type", "gpu_energy_mwh", "pue", "intensity_kg_per_kwh", "emissions_tco2eq",
               "method", "basis", "facility_energy_mwh", "error_band_rel", "node_energy_mwh", "tokens",
               "energy_per_token_j", "kwh_per_billion_tokens", "hardware", "intensity_source", "pue_source"]


def to_csv(accounts: Sequence[RunAccount]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for run in to_json_dict(accounts)["runs"]:
        writer.writerow(run)
    return out.getvalue()


def to_json(accounts: Sequence[RunAccount]) -> str:
    return json.dumps(to_json_dict(accounts), indent=2, allow_nan=False) + "\n"


_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def to_latex(accounts: Sequence[RunAccount]) -> str:
    header = " & ".join(latex_escape(h) for h in CARD_HEADER) + r" \\"
    rows = [" & ".join(latex_escape(c) for c in card_cells(a)) + r" \\" for a in accounts]
    return "\n".join([r"\begin{tabular}{llrrrrl}", r"\hline", header, r"\hline", *rows, r"\hline",
                      r"\end{tabular}", ""])


def render(accounts: Sequence[RunAccount], fmt: str) -> str:
    """The report in one of FORMATS."""
    from olmo_green.reports.codecarbon import to_codecarbon_csv

    renderers = {"md": to_markdown, "csv": to_csv, "json": to_json, "latex": to_latex,
                 "codecarbon": to_codecarbon_csv}
    return renderers[fmt](accounts)
