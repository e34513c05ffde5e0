"""A country's average grid intensity from the data codecarbon ships, offline.

codecarbon bundles one record per country (ISO 3166 alpha-3) in
codecarbon/data/private_infra/global_energy_mix.json, with its electricity mix
in TWh and a `carbon_intensity` in g CO2e/kWh for a given `year`, built from
Our World in Data's energy dataset (which rests on Ember and the Energy
Institute's statistical review). We read the file, never the network.
"""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path

from olmo_green.carbon.intensity import ConstantIntensity
from olmo_green.errors import ConfigError

MIX_FILE = ("data", "private_infra", "global_energy_mix.json")


@lru_cache(maxsize=1)
def _energy_mix() -> dict[str, dict]:
    # find_spec locates the package without importing it: codecarbon's own code (its tracker,
    # its logger) never runs here, only its data file is read.
    spec = importlib.util.find_spec("codecarbon")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("--country needs codecarbon's bundled data: pip install codecarbon")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*MIX_FILE)
    return json.loads(path.read_text(encoding="utf-8"))


def known_countries() -> list[str]:
    """ISO 3166 alpha-3 codes that have an average intensity."""
    return sorted(code for code, rec in _energy_mix().items() if rec.get("carbon_intensity") is not None)


def country_intensity(iso3: str, basis: str = "location") -> ConstantIntensity:
    """The average intensity of a country's grid, e.g. FIN, AUS, USA."""
    code = iso3.strip().upper()
    record = _energy_mix().get(code)
    if record is None or record.get("carbon_intensity") is None:
        hint = "an ISO 3166 alpha-3 code such as FIN, AUS or USA"
        if len(code) == 2:
            hint = "the 3-letter code (ISO 3166 alpha-3), e.g. FIN for Finland, not FI"
        raise ConfigError(f"unknown country {iso3!r} in codecarbon's energy mix data; use {hint}")
    g_per_kwh = float(record["carbon_intensity"])
    source = (f"{record.get('country_name', code)} grid average {record.get('year', '?')}, "
              f"{g_per_kwh:.1f} g/kWh (codecarbon {'/'.join(MIX_FILE)}, from Our World in Data)")
    return ConstantIntensity(kg_per_kwh=g_per_kwh / 1000.0, basis=basis, source=source)


def country_name(iso3: str) -> str | None:
    """The country's name in codecarbon's data (FIN -> Finland); None if unknown or no data."""
    try:
        record = _energy_mix().get(iso3.strip().upper())
    except ConfigError:
        return None
    return record.get("country_name") if record else None
