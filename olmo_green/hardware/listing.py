"""Profiles as text for `olmo-green hardware`: every value beside its source."""

from __future__ import annotations

from dataclasses import fields

from olmo_green.hardware.profiles import HardwareProfile

UNCITED = "(no source needed: a label or a choice)"


def _value_text(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(value) or "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def profile_lines(profile: HardwareProfile) -> list[str]:
    """One line per set value: key, value and where it comes from."""
    lines = [f"{profile.name}: {profile.gpu_type}"]
    for f in fields(HardwareProfile):
        value = getattr(profile, f.name)
        if value is None and profile.sources.get(f.name):  # not published: the source says why
            value = "-"
        if f.name in ("name", "sources") or value is None or value == ():
            continue
        source = profile.sources.get(f.name) or UNCITED
        lines.append(f"  {f.name:<30} {_value_text(value):<28} {source}")
    if profile.country and profile.intensity_location_kg_per_kwh is None:
        from olmo_green.carbon import country_intensity

        location = country_intensity(profile.country)
        key = "intensity_location_kg_per_kwh"
        lines.append(f"  {key:<30} {location.kg_per_kwh:<28.4g} {location.source}")
    return lines


def profiles_text(profiles: list[HardwareProfile]) -> str:
    blocks = ["\n".join(profile_lines(p)) for p in profiles]
    footer = ("Add your own site as a YAML file with these keys (e.g. --hardware mysite.yaml); "
              "values marked 'assumption' are worth measuring with `olmo-green sensors`.")
    return "\n\n".join(blocks + [footer]) + "\n"
