"""Facts about an accounted run that the ecosystem's formats ask for (model card, codecarbon):
its hardware profile, where it ran, on what, and when it ended."""

from __future__ import annotations

import math
from pathlib import Path

from olmo_green.errors import GreenError
from olmo_green.hardware import HardwareProfile, load_profile
from olmo_green.reports.account import RunAccount


def account_profile(account: RunAccount) -> HardwareProfile | None:
    """The profile the account used: the run's config.yaml one, else the named one; None if unknown."""
    from olmo_green.reports.build import config_profile

    if account.hardware is None:
        return None
    try:
        if Path(account.path).is_dir():
            profile = config_profile(account.path)
            if profile is not None and profile.name == account.hardware:
                return profile
        return load_profile(account.hardware)
    except GreenError:
        return None


def gpu_packages(account: RunAccount) -> int:
    """Accelerator packages: devices that drew energy. One die of a multi-die package (an MI250X's
    primary GCD) reports the package's energy and the other reports none or is not sampled, so
    each package is counted once, as in the report (reports/build.py, _package_note)."""
    return len({(d.node, d.device) for d in account.devices if d.domain == "gpu" and d.energy_j > 0})


def gpu_devices(account: RunAccount, profile: HardwareProfile | None) -> int:
    """Logical devices as the vendor tools list them (an MI250X package is two GCDs)."""
    return gpu_packages(account) * (profile.devices_per_package if profile is not None else 1)


def hardware_used(account: RunAccount) -> str:
    """e.g. "4 x MI250X (LUMI supercomputer)": packages, the unit the model card's GPU type names."""
    return f"{gpu_packages(account)} x {account.gpu_type}"


def location(profile: HardwareProfile | None) -> str | None:
    """The profile's country (by name where codecarbon's data knows it) and site, e.g. "Finland (lumi)"."""
    from olmo_green.carbon.country import country_name

    if profile is None or profile.country is None:
        return None
    return f"{country_name(profile.country) or profile.country} ({profile.name})"


def end_time_s(account: RunAccount) -> float | None:
    """When the run's last step window ended (UNIX s); None for a record without steps (a trace)."""
    steps = account.steps
    if steps is None or steps.empty or "time_end_s" not in steps:
        return None
    end = float(steps["time_end_s"].max())
    return end if math.isfinite(end) else None
