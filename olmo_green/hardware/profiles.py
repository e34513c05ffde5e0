"""Hardware profiles from the cited table profiles.csv, or from a user's YAML file.

profiles.csv holds one row per (profile, key) with the value's source, so
`olmo-green hardware` can print where every number comes from.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from olmo_green import checks
from olmo_green.errors import ConfigError

TABLE = Path(__file__).with_name("profiles.csv")


@dataclass(frozen=True)
class HardwareProfile:
    """One kind of node: its accelerators, their power and the site's carbon factors."""

    name: str
    gpu_type: str  # the model card's "GPU Type" label
    accelerator: str
    vendor: str  # amd, nvidia, any
    devices_per_node: int  # logical devices (an MI250X node: 8 GCDs)
    devices_per_package: int  # GCDs per package; power and energy belong to the package
    package_tdp_w: float
    package_idle_w: float
    pue: float
    package_train_w: float | None = None  # typical power while training, for estimates
    typical_mfu: float | None = None  # model FLOPs utilisation, for estimates
    headline: str = "location"  # which intensity the headline uses: market or location
    peak_flops_per_device: float | None = None  # bf16 dense, for MFU
    intensity_market_kg_per_kwh: float | None = None
    intensity_location_kg_per_kwh: float | None = None
    country: str | None = None  # ISO 3166 alpha-3, for a location-based average
    # Holistic accounting (reports: water, embodied carbon, all-hardware energy); None: not published.
    wue_onsite_l_per_kwh: float | None = None  # data-centre cooling water per kWh
    wue_offsite_l_per_kwh: float | None = None  # water consumed generating the electricity, per kWh
    wue_l_per_kwh: float | None = None  # the total, where a source gives no on-site/off-site split
    embodied_kg_per_device_hour: float | None = None  # manufacturing CO2e amortised over a lifetime
    non_gpu_overhead: float | None = None  # all-hardware / GPU energy, used where node energy is unmeasured
    sensors: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        """The one rule for numbers (olmo_green/checks.py), whoever builds the profile."""
        for key in NUMBER_KEYS:
            value = getattr(self, key)
            if value is not None:
                object.__setattr__(self, key, checks.check(value, key))
        _check_consistent(self)

    @property
    def packages_per_node(self) -> int:
        return self.devices_per_node // self.devices_per_package

    @property
    def wue_total_l_per_kwh(self) -> float | None:
        """On-site plus off-site WUE (OLMo 2 paper, §6.5), or the published total; None if unknown."""
        if self.wue_l_per_kwh is not None:
            return self.wue_l_per_kwh
        if self.wue_onsite_l_per_kwh is None:
            return None
        return self.wue_onsite_l_per_kwh + self.wue_offsite_l_per_kwh


# Factors of the holistic lines: each must cite its source, wherever the profile comes from.
HOLISTIC_KEYS = ("wue_onsite_l_per_kwh", "wue_offsite_l_per_kwh", "wue_l_per_kwh",
                 "embodied_kg_per_device_hour", "non_gpu_overhead")
# Every number of a profile; each has its rule in checks.RULES under the same name.
NUMBER_KEYS = ("devices_per_node", "devices_per_package", "package_tdp_w", "package_idle_w",
               "package_train_w", "typical_mfu", "pue", "peak_flops_per_device",
               "intensity_market_kg_per_kwh", "intensity_location_kg_per_kwh", *HOLISTIC_KEYS)
HEADLINES = ("location", "market")
VENDORS = ("amd", "nvidia", "intel", "any")


def _check_consistent(p: HardwareProfile) -> None:
    """Values that are each plausible but contradict one another."""
    checks.divides(p.devices_per_package, p.devices_per_node, "devices_per_package", "devices_per_node")
    if p.package_idle_w > p.package_tdp_w:
        raise ConfigError(f"package_idle_w ({p.package_idle_w:g} W) is above package_tdp_w "
                          f"({p.package_tdp_w:g} W); both are W per package")
    if p.package_train_w is not None and p.package_train_w > checks.SPIKE_FACTOR * p.package_tdp_w:
        raise ConfigError(f"package_train_w ({p.package_train_w:g} W) is above 3x package_tdp_w "
                          f"({p.package_tdp_w:g} W); both are W per package")
    if p.headline not in HEADLINES:
        raise ConfigError(f"headline must be one of {', '.join(HEADLINES)}, got {p.headline!r}")
    if p.vendor not in VENDORS:
        raise ConfigError(f"vendor must be one of {', '.join(VENDORS)}, got {p.vendor!r}")
    if p.country is not None and not (isinstance(p.country, str) and len(p.country) == 3
                                      and p.country.isascii() and p.country.isalpha()):
        raise ConfigError(f"country must be an ISO 3166 alpha-3 code such as FIN or USA, got {p.country!r}")
    _check_water(p)
    for key in ("name", "gpu_type", "accelerator"):
        if not isinstance(getattr(p, key), str) or not getattr(p, key).strip():
            raise ConfigError(f"{key} must be a non-empty text, got {getattr(p, key)!r}")


def _check_water(p: HardwareProfile) -> None:
    """WUE is on-site and off-site together, or a published total; never half of the split."""
    onsite, offsite = p.wue_onsite_l_per_kwh, p.wue_offsite_l_per_kwh
    if (onsite is None) != (offsite is None):
        given = "wue_onsite_l_per_kwh" if offsite is None else "wue_offsite_l_per_kwh"
        raise ConfigError(f"{given} needs its other half (wue_onsite_l_per_kwh and wue_offsite_l_per_kwh); "
                          "give both, or the published total as wue_l_per_kwh")
    if onsite is not None and p.wue_l_per_kwh is not None and abs(onsite + offsite - p.wue_l_per_kwh) > 1e-9:
        raise ConfigError(f"wue_l_per_kwh ({p.wue_l_per_kwh:g}) is not wue_onsite_l_per_kwh + "
                          f"wue_offsite_l_per_kwh ({onsite:g} + {offsite:g}); give the split or the total")


def _check_cited(values: dict, sources: dict[str, str]) -> None:
    """Every holistic factor names where it comes from (or says that none is published)."""
    for key in HOLISTIC_KEYS:
        if key in values and not str(sources.get(key) or "").strip():
            raise ConfigError(f"{key} has no source; cite where the figure comes from "
                              f"(sources: {{{key}: ...}} in a YAML profile)")


def _convert(key: str, value: object, origin: str) -> object:
    if key in NUMBER_KEYS:
        return checks.check(value, key)  # text from profiles.csv is parsed here too
    if key == "sensors":
        if isinstance(value, str):
            return tuple(s.strip() for s in value.split(",") if s.strip())
        if not isinstance(value, (list, tuple)) or not all(isinstance(s, str) for s in value):
            raise ConfigError(f"sensors must be a list of source names, got {value!r}")
        return tuple(value)
    if key == "country" and isinstance(value, str):
        return value.strip().upper()  # fin is FIN; FI stays two letters and is refused
    return value


def _build(name: str, values: dict, sources: dict[str, str], origin: str) -> HardwareProfile:
    known = {f.name for f in fields(HardwareProfile)} - {"name", "sources"}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"{origin}: unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
    try:
        _check_cited(values, sources)
        converted = {k: _convert(k, v, origin) for k, v in values.items()}
        return HardwareProfile(name=name, sources=sources, **converted)
    except TypeError as e:
        raise ConfigError(f"{origin}: incomplete profile ({e})") from e
    except ConfigError as e:  # the rule's message, and where the value came from
        raise ConfigError(f"{origin}: {e}") from e


def _read_table() -> dict[str, tuple[dict, dict]]:
    table: dict[str, tuple[dict, dict]] = {}
    with TABLE.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            values, sources = table.setdefault(row["profile"], ({}, {}))
            if row["value"] != "":  # an empty value: not published, and the source says so
                values[row["key"]] = row["value"]
            sources[row["key"]] = row["source"]
    return table


def list_profiles() -> list[HardwareProfile]:
    """The built-in profiles, in table order."""
    return [_build(name, v, s, str(TABLE)) for name, (v, s) in _read_table().items()]


def load_profile(name_or_path: str) -> HardwareProfile:
    """A built-in profile by name, or a user's profile from a YAML file."""
    table = _read_table()
    if name_or_path in table:
        values, sources = table[name_or_path]
        return _build(name_or_path, values, sources, str(TABLE))
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:  # safe_load: a python/object tag is refused, never run
            raise ConfigError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from e
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: a hardware profile is a mapping of keys to values")
        return profile_from_mapping(data, str(path), default_name=path.stem)
    raise ConfigError(
        f"unknown hardware profile {name_or_path!r}; use one of {', '.join(table)} or a YAML file"
    )


def profile_from_mapping(data: dict, origin: str, default_name: str = "custom") -> HardwareProfile:
    """A profile from a mapping (a YAML file, a run's config.yaml); `origin` is cited as the source."""
    values = {k: v for k, v in data.items() if v is not None}  # a saved profile writes unset keys as null
    name = str(values.pop("name", default_name))
    values.pop("sources", None)  # a saved profile's own citations are not profile values
    cited = data.get("sources") if isinstance(data.get("sources"), dict) else {}
    # A holistic factor is never cited by the file it sits in: its source must be written out.
    sources = {k: str(cited.get(k) or "") if k in HOLISTIC_KEYS else str(cited.get(k, origin))
               for k in values}
    return _build(name, values, sources, origin)
