"""`report --format codecarbon`: one row per run in codecarbon's emissions.csv columns.

The columns and their meaning follow codecarbon 3.x's own source
(output_methods/emissions_data.py, EmissionsData; emissions_tracker.py, _do_measurements):
its energy and power columns already include PUE (it multiplies each measurement by its
`pue`), `energy_consumed` is the sum of the cpu, gpu and ram energies (kWh), and
`emissions` (kg CO2e) is that energy x the intensity; a row holds the run's cumulative totals,
as its `stop()` writes them.

Emissions basis: codecarbon knows one basis, location: its `emissions` is the energy x the grid
intensity of where it ran (its country's average from data/private_infra/global_energy_mix.json,
or a cloud region's), never a market-based (contractual) figure. So our row carries the
location-based figure there, whatever the report's headline is:
- the run's own location-based line (the profile's or a location-based --intensity-series), else
- the profile's country grid average from codecarbon's own energy-mix data (what codecarbon
  itself would have used in that country), else
- an intensity the user gave (--intensity), which codecarbon would have no way to know, else
- nothing: `emissions` and `emissions_rate` stay empty (a market-based 0, e.g. LUMI's
  hydropower contract, would read as a location figure of 0 in codecarbon's dashboards).
`basis_of_row` says which; docs/integrations/codecarbon.md lists the mapping.

What we fill: timestamp (local time, no zone, whole seconds, as codecarbon writes it: the end
of the run's last step), project_name (the run's name), run_id (the record's own `run_id` from
config.yaml as a UUID, so a moved or copied folder keeps it; a record older than run ids, or a
trace, gets a UUID derived from its path, stable across re-reports), duration (s), emissions
(kg) and emissions_rate (kg/s), both on the basis above, gpu_power (mean W x PUE),
gpu_energy and energy_consumed (GPU kWh x PUE: our headline counts GPUs only, so
energy_consumed x intensity = emissions, as in codecarbon), country_name,
country_iso_code (the profile's), gpu_count, gpu_model, pue, and water_consumed and wue where
the report knows water.
What stays empty: experiment_id, cpu and ram power and energy (not in the headline; the
Markdown report shows measured CPU, DRAM and node energy apart), region, cloud provider and
region, os, python_version, codecarbon_version, cpu_count, cpu_model, longitude, latitude,
ram_total_size, tracking_mode, utilisation columns, ram_used_gb, on_cloud: they describe the
machine and process codecarbon watches, which the report (run later, elsewhere) does not know.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from olmo_green.errors import GreenError
from olmo_green.hardware import HardwareProfile
from olmo_green.record.config import RunConfig
from olmo_green.reports.account import RunAccount
from olmo_green.reports.jsonform import run_to_json
from olmo_green.reports.runinfo import account_profile, end_time_s, gpu_devices
from olmo_green.units import J_PER_KWH

# codecarbon 3.3's header, in its order (EmissionsData's fields)
COLUMNS = ["timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions",
           "emissions_rate", "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy",
           "ram_energy", "energy_consumed", "water_consumed", "country_name", "country_iso_code", "region",
           "cloud_provider", "cloud_region", "os", "python_version", "codecarbon_version", "cpu_count",
           "cpu_model", "gpu_count", "gpu_model", "longitude", "latitude", "ram_total_size",
           "tracking_mode", "cpu_utilization_percent", "gpu_utilization_percent",
           "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue"]
FILLED = ("timestamp", "project_name", "run_id", "duration", "emissions", "emissions_rate", "gpu_power",
          "gpu_energy", "energy_consumed", "water_consumed", "country_name", "country_iso_code",
          "gpu_count", "gpu_model", "pue", "wue")
_OUR_RUN_ID = re.compile(r"[0-9a-f]{32}")  # what RunConfig writes: uuid4().hex
RUN_ID_NAMESPACE = uuid.UUID("6f1c8a52-5b3e-4d0a-9f6e-0c1e2a7b9d41")  # ours: run ids from run paths or words


def location_emissions(account: RunAccount, profile: HardwareProfile | None) -> tuple[float | None, str]:
    """(kg CO2e on codecarbon's basis, where it came from); (None, why) where no location figure exists."""
    from olmo_green.carbon.country import country_intensity

    lines = {line.basis: line for line in account.carbon}
    if "location" in lines:
        return lines["location"].emissions_kg, f"location: {lines['location'].source}"
    if profile is not None and profile.country:
        grid = country_intensity(profile.country)
        return grid.kg_per_kwh * account.gpu_energy_j / J_PER_KWH * account.pue, f"location: {grid.source}"
    if "given" in lines:
        return lines["given"].emissions_kg, f"given: {lines['given'].source}"
    return None, "none: the run has no location-based intensity and its profile no country; pass --country"


def basis_of_row(account: RunAccount) -> str:
    """Which intensity the codecarbon row's emissions use (the module docstring's order)."""
    return location_emissions(account, account_profile(account))[1]


def codecarbon_run_id(path: str) -> str:
    """codecarbon's run_id (a UUID string) for a run: its record's run_id where it has one."""
    try:
        config = RunConfig.load(path) if Path(path).is_dir() else None
    except GreenError:  # a broken config.yaml is named where the report reads it
        config = None
    if config is not None and config.run_id:
        if _OUR_RUN_ID.fullmatch(config.run_id):
            return str(uuid.UUID(hex=config.run_id))  # ours: uuid4().hex, read back as itself
        # Any other word gets a UUID of its own, the same wherever the folder goes. uuid.UUID
        # would also read 'ABC..', '{..}' or a dashed form as a UUID, so two distinct run ids
        # ('abc..' and 'ABC..') would share one codecarbon run_id.
        return str(uuid.uuid5(RUN_ID_NAMESPACE, f"run_id:{config.run_id}"))
    return str(uuid.uuid5(RUN_ID_NAMESPACE, str(Path(path).resolve())))


def codecarbon_row(account: RunAccount) -> dict[str, object]:
    from olmo_green.carbon.country import country_name

    profile = account_profile(account)
    emissions_kg, _ = location_emissions(account, profile)
    facility_kwh = account.gpu_energy_j / J_PER_KWH * account.pue
    duration_s = max((d.duration_s for d in account.devices), default=0.0)
    end_s = end_time_s(account)
    extra = run_to_json(account)  # water_kl and wue_l_per_kwh where the report knows them
    devices = gpu_devices(account, profile)
    row = dict.fromkeys(COLUMNS, "")
    row |= {
        "timestamp": datetime.fromtimestamp(end_s).strftime("%Y-%m-%dT%H:%M:%S") if end_s else "",
        "project_name": account.name,
        "run_id": codecarbon_run_id(account.path),
        "duration": duration_s, "emissions": "" if emissions_kg is None else emissions_kg,
        "emissions_rate": emissions_kg / duration_s if duration_s > 0 and emissions_kg is not None else "",
        "gpu_power": account.gpu_energy_j * account.pue / duration_s if duration_s > 0 else "",
        "gpu_energy": facility_kwh, "energy_consumed": facility_kwh,
        "gpu_count": devices, "pue": account.pue,
        "gpu_model": f"{devices} x {profile.accelerator if profile else account.gpu_type}",
    }
    if profile is not None and profile.country:
        row |= {"country_iso_code": profile.country, "country_name": country_name(profile.country) or ""}
    if extra.get("water_kl") is not None:
        row["water_consumed"] = float(extra["water_kl"]) * 1000.0  # L, as codecarbon's column
    if extra.get("wue_l_per_kwh") is not None:
        row["wue"] = extra["wue_l_per_kwh"]
    return row


def to_codecarbon_csv(accounts: Sequence[RunAccount]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for account in accounts:
        writer.writerow(codecarbon_row(account))
    return out.getvalue()
