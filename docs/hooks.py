"""MkDocs hooks: tables generated from the project's own data at build time.

A page asks for a table with a marker line, `<!-- generated: NAME -->`; the hook
replaces it with the table built from the data file the code itself reads, so the
site cannot drift from profiles.csv, error_bands.csv or published.csv.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from olmo_green.hardware.profiles import list_profiles

MARKER = re.compile(r"<!-- generated: ([a-z-]+) -->")
REPORTS_DATA = Path(__file__).resolve().parents[1] / "olmo_green" / "reports"
HARDWARE_COLUMNS = ("gpu_type", "devices_per_node", "package_tdp_w", "pue",
                    "intensity_market_kg_per_kwh", "wue_onsite_l_per_kwh", "typical_mfu")


def _cell(value: object) -> str:
    """A Markdown table cell: no pipe or line break may split the row."""
    text = "-" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def hardware_table() -> str:
    """One row per built-in profile: the values a reader compares across sites."""
    profiles = list_profiles()
    rows = [[f"`{p.name}`"] + [getattr(p, key) for key in HARDWARE_COLUMNS] for p in profiles]
    return _table(["profile", *HARDWARE_COLUMNS], rows)


def hardware_sources() -> str:
    """Every value of every profile beside its source, as `olmo-green hardware` prints them."""
    rows = []
    for p in list_profiles():
        for key, source in sorted(p.sources.items()):
            rows.append([f"`{p.name}`", f"`{key}`", getattr(p, key, None), source])
    return _table(["profile", "key", "value", "source"], rows)


def _csv_table(name: str) -> str:
    with open(REPORTS_DATA / name, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        return _table(header, list(reader))


GENERATORS = {
    "hardware-table": hardware_table,
    "hardware-sources": hardware_sources,
    "error-bands": lambda: _csv_table("error_bands.csv"),
    "published": lambda: _csv_table("published.csv"),
}


def on_page_markdown(markdown: str, **_: object) -> str:
    """Replace each marker with its table; an unknown marker fails the strict build."""
    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise ValueError(f"docs: unknown generated table {name!r}; known: {sorted(GENERATORS)}")
        return GENERATORS[name]()

    return MARKER.sub(replace, markdown)
