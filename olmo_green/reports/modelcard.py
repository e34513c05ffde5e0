"""A Hugging Face model card (README.md) from the same accounts the report prints.

The front matter follows the Hub's `co2_eq_emissions` convention
(huggingface.co/docs/hub/model-cards-co2): `emissions` in grams of CO2e (the report's
headline: GPU energy x PUE x the headline intensity, summed over the runs given), `source`
(olmo-green, measured or modelled, as the runs' methods say, with the basis), `training_type`
(every run's `stage` or `training_type` tag), `geographical_location` (every run's country and
site) and `hardware_used` (packages x GPU type, every kind): a card rolled up over several runs
names each location, hardware and training type it covers. The "Environmental impact" section
then gives the OLMo model card's table (GPU type, power consumption from GPUs, carbon intensity,
emissions) with PUE, water where the report knows it, and the method. Every figure is the report's own
(formats.card_cells, jsonform.run_to_json): a card and `olmo-green report` never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml

from olmo_green.reports.account import RunAccount
from olmo_green.reports.formats import card_cells, card_header, shows_water
from olmo_green.reports.mdtable import markdown_row
from olmo_green.reports.runinfo import account_profile, hardware_used, location

MEASURED_METHODS = ("counter", "power_integration")


def _unique(values: Sequence[str | None]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def method_kind(methods: Sequence[str]) -> str:
    """measured, modelled, replayed, or a mix ("measured and modelled"), from the runs' methods."""
    kinds = []
    for method in methods:
        for part in method.split(" ")[0].split("+"):
            kinds.append("measured" if part in MEASURED_METHODS else part)
    return " and ".join(_unique(kinds)) or "unknown"


TRAINING_TAGS = ("training_type", "stage")  # the tag a run states its training type in


def training_types(accounts: Sequence[RunAccount]) -> list[str]:
    """Each run's training type (`train --tag stage=pre-training`, or a training_type tag), every
    one the card covers; a run without either tag is named, so a rolled-up card hides none."""
    types = []
    for account in accounts:
        tags = account.tags or {}
        stated = next((str(tags[k]) for k in TRAINING_TAGS if tags.get(k)), None)
        types.append(stated or f"not stated ({account.name})")
    return _unique(types)


def locations(accounts: Sequence[RunAccount]) -> list[str]:
    """Every site the runs ran at: the profile's country and site, or the profile (or run) where
    the profile names no country, so a rolled-up card does not take one run's place for all."""
    found = []
    for account in accounts:
        profile = account_profile(account)
        where = location(profile)
        if where is None:
            site = profile.name if profile is not None else account.name
            where = f"unknown country ({site})"
        found.append(where)
    return _unique(found)


def front_matter(accounts: Sequence[RunAccount]) -> dict:
    bases = _unique([a.headline.basis for a in accounts])
    emissions = {
        "emissions": round(sum(a.headline.emissions_kg for a in accounts) * 1000.0, 6),
        "source": f"olmo-green, {method_kind([a.method for a in accounts])} (GPU energy x PUE x "
                  f"{' and '.join(bases)}-based carbon intensity; see Environmental impact)",
        "training_type": ", ".join(training_types(accounts)),
        "geographical_location": "; ".join(locations(accounts)),
        "hardware_used": "; ".join(_unique([hardware_used(a) for a in accounts])),
    }
    return {"tags": ["olmo", "olmo-green"], "co2_eq_emissions": emissions}


def impact_table(accounts: Sequence[RunAccount]) -> list[str]:
    """The model card's table, with PUE, WUE and water (when any run has a WUE) and method columns:
    the report's own header and cells (formats.card_header, card_cells)."""
    water = shows_water(accounts)
    header = card_header(accounts)
    lines = [markdown_row(header), "|" + "---|" * len(header)]
    return lines + [markdown_row(card_cells(a, water)) for a in accounts]


SECTION_TITLE = "## Environmental impact"


def impact_section(accounts: Sequence[RunAccount]) -> list[str]:
    """The "Environmental impact" section, its heading first (modelcard_merge.py replaces it in place)."""
    lines = [SECTION_TITLE, ""] + impact_table(accounts)
    lines += ["", "Emissions = power consumption from GPUs x PUE x carbon intensity; the intensity's basis "
              "(location: the local grid; market: what the site buys; given: passed by hand) is in brackets.",
              "Figures are accounted by olmo-green from the training run record(s), as "
              "`olmo-green report` prints them; the Method column says how the energy was obtained "
              "(counter or power_integration: measured; modelled: simulated or estimated).", ""]
    for account in accounts:
        h = account.headline
        lines += [f"- {account.name}: PUE {account.pue:g} ({account.pue_source}); intensity "
                  f"{h.intensity_kg_per_kwh:.4g} kg CO2e/kWh ({h.basis}: {h.source})"]
    return lines


def model_card(accounts: Sequence[RunAccount], model_name: str) -> str:
    """The README.md text: front matter, then the Environmental impact section."""
    lines = ["---", yaml.safe_dump(front_matter(accounts), sort_keys=False).rstrip(), "---", "",
             f"# {model_name}", ""]
    return "\n".join(lines + impact_section(accounts)) + "\n"
