"""Carbon accounting: which PUE and intensities apply, and the emissions they give.

facility energy = accelerator energy x PUE (docs/design.md, Carbon); emissions =
facility energy x intensity, summed hour by hour for a series. A run gets a
line per intensity basis that is known (location: the grid where the machine
is; market: what the site buys), and one of them is the headline.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from olmo_green import checks
from olmo_green.carbon.country import country_intensity
from olmo_green.carbon.intensity import ConstantIntensity, HourlyIntensity, Intensity, effective_kg_per_kwh
from olmo_green.carbon.series import check_covers, read_intensity_series
from olmo_green.errors import ConfigError

if TYPE_CHECKING:  # types only: the integration rules sit below carbon (docs/design.md, Layers)
    from olmo_green.integrate import EnergyCurve

log = logging.getLogger(__name__)
NO_PUE_SOURCE = "no PUE given: 1.0, accelerator energy only (pass --pue or --hardware)"


class SiteFactors(Protocol):
    """What carbon reads of a hardware profile (hardware/profiles.py HardwareProfile, a layer
    above): the site's PUE and intensities, each with its source in `sources`."""

    name: str
    pue: float
    headline: str  # "location" or "market"
    intensity_market_kg_per_kwh: float | None
    intensity_location_kg_per_kwh: float | None
    country: str | None
    sources: dict[str, str]


@dataclass(frozen=True)
class CarbonOptions:
    """What the user passed on the command line (all optional)."""

    hardware: str | None = None
    pue: float | None = None
    intensity_kg_per_kwh: float | None = None
    country: str | None = None
    intensity_series: str | None = None
    wue: float | None = None  # L/kWh, on-site + off-site; overrides the profile's (reports/holistic.py)


@dataclass(frozen=True)
class CarbonFactors:
    """The PUE and the intensities that apply to one run, with their sources."""

    pue: float
    pue_source: str
    intensities: tuple[Intensity, ...]  # the first is the headline
    series_path: str | None = None


@dataclass(frozen=True)
class CarbonLine:
    """Emissions of one run at one intensity basis."""

    basis: str  # location, market or given
    intensity_kg_per_kwh: float  # energy-weighted for a series
    emissions_kg: float
    source: str
    headline: bool

    @property
    def emissions_t(self) -> float:
        return self.emissions_kg / 1000.0


def _check_options(options: CarbonOptions) -> None:
    given = [f for f, v in (("--intensity", options.intensity_kg_per_kwh), ("--country", options.country),
                            ("--intensity-series", options.intensity_series)) if v is not None]
    if len(given) > 1:
        raise ConfigError(f"give one of {', '.join(given)}, not several: each sets the headline intensity")
    # The one rule for numbers (checks.py): the same ranges as a profile's pue and intensities.
    if options.pue is not None:
        checks.check(options.pue, "pue", "--pue")
    if options.intensity_kg_per_kwh is not None:
        checks.check(options.intensity_kg_per_kwh, "intensity_kg_per_kwh", "--intensity")
    if options.wue is not None:
        checks.check(options.wue, "wue_l_per_kwh", "--wue")


def _user_intensity(options: CarbonOptions) -> Intensity | None:
    if options.intensity_kg_per_kwh is not None:
        return ConstantIntensity(options.intensity_kg_per_kwh, "given", "--intensity")
    if options.country is not None:
        return country_intensity(options.country)
    if options.intensity_series is not None:
        return read_intensity_series(options.intensity_series)
    return None


def _profile_intensities(profile: SiteFactors | None) -> list[Intensity]:
    if profile is None:
        return []
    found: list[Intensity] = []
    if profile.intensity_market_kg_per_kwh is not None:
        found.append(ConstantIntensity(profile.intensity_market_kg_per_kwh, "market",
                                       profile.sources.get("intensity_market_kg_per_kwh", profile.name)))
    if profile.intensity_location_kg_per_kwh is not None:
        found.append(ConstantIntensity(profile.intensity_location_kg_per_kwh, "location",
                                       profile.sources.get("intensity_location_kg_per_kwh", profile.name)))
    elif profile.country:
        try:
            found.append(country_intensity(profile.country))
        except ConfigError as e:  # say which profile named the country
            raise ConfigError(f"hardware profile {profile.name!r}: {e}") from e
    # The profile's headline basis first.
    return sorted(found, key=lambda i: i.basis != profile.headline)


def resolve_factors(options: CarbonOptions, profile: SiteFactors | None,
                    require_intensity: bool = True) -> CarbonFactors:
    """PUE and intensities from the options, else from the profile; the headline first.

    Without any intensity this fails, unless `require_intensity` is False (an
    estimate can still give energy); then `intensities` is empty.
    """
    _check_options(options)
    if options.pue is not None:
        pue, pue_source = options.pue, "--pue"
    elif profile is not None:
        pue, pue_source = profile.pue, profile.sources.get("pue", profile.name)
    else:
        pue, pue_source = 1.0, NO_PUE_SOURCE
    user = _user_intensity(options)
    found = _profile_intensities(profile)
    if user is not None:
        found = [user] + [i for i in found if i.basis != user.basis]
    if not found and require_intensity:
        what = f"hardware profile {profile.name!r} has" if profile else "there is"
        what += " no carbon intensity"
        raise ConfigError(f"{what}: pass --intensity KG_PER_KWH, --country ISO3 or --intensity-series CSV"
                          + ("" if profile else ", or --hardware PROFILE"))
    return CarbonFactors(pue=pue, pue_source=pue_source, intensities=tuple(found),
                         series_path=options.intensity_series)


def carbon_lines(curves: Sequence[EnergyCurve], factors: CarbonFactors) -> list[CarbonLine]:
    """One line per intensity basis; the first is the headline."""
    energy_j = sum(c.total_j for c in curves)
    lines = []
    for i, intensity in enumerate(factors.intensities):
        if isinstance(intensity, HourlyIntensity) and curves:
            start_s = min(float(c.time_s[0]) for c in curves if len(c.time_s))
            end_s = max(float(c.time_s[-1]) for c in curves if len(c.time_s))
            check_covers(intensity, factors.series_path or intensity.source, start_s, end_s)
        emissions_kg = intensity.emissions_kg(curves, factors.pue)
        kg_per_kwh = (effective_kg_per_kwh(emissions_kg, energy_j, factors.pue)
                      if isinstance(intensity, HourlyIntensity) and energy_j > 0 else intensity.kg_per_kwh)
        lines.append(CarbonLine(basis=intensity.basis, intensity_kg_per_kwh=kg_per_kwh,
                                emissions_kg=emissions_kg, source=intensity.source, headline=i == 0))
    return lines


def headline_factor(profile: SiteFactors) -> tuple[float, str] | tuple[()]:
    """(PUE x headline intensity in kg/kWh, its basis) for live figures; () if none is known.

    The report recomputes emissions from the record; this is only the running figure.
    """
    try:
        factors = resolve_factors(CarbonOptions(), profile, require_intensity=False)
    except Exception as e:  # a live figure must never stop training
        log.warning("no live emissions figure: %s", e)
        return ()
    if not factors.intensities or not hasattr(factors.intensities[0], "kg_per_kwh"):
        return ()
    headline = factors.intensities[0]
    return factors.pue * headline.kg_per_kwh, headline.basis
