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


# Every number of a profile; each has its rule in checks.RULES under the same name.
NUMBER_KEYS = ("devices_per_node", "devices_per_package", "package_tdp_w", "package_idle_w",
               "package_train_w", "typical_mfu", "pue", "peak_flops_per_device",
               "intensity_market_kg_per_kwh", "intensity_location_kg_per_kwh")
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
    for key in ("name", "gpu_type", "accelerator"):
        if not isinstance(getattr(p, key), str) or not getattr(p, key).strip():
            raise ConfigError(f"{key} must be a non-empty text, got {getattr(p, key)!r}")


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
    sources = {k: str(cited.get(k, origin)) for k in values}
    return _build(name, values, sources, origin)
