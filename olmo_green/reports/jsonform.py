"""The JSON report: a list `runs` whose objects carry the fixed keys of docs/design.md, Reports.

Fixed keys (scripts rely on them): gpu_type, gpu_energy_mwh (before PUE), pue,
intensity_kg_per_kwh, emissions_tco2eq, method. Everything else is extra and
may grow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from olmo_green.reports.account import RunAccount
from olmo_green.units import J_PER_MWH

FIXED_KEYS = ("gpu_type", "gpu_energy_mwh", "pue", "intensity_kg_per_kwh", "emissions_tco2eq", "method")


def _carbon(account: RunAccount) -> list[dict]:
    return [{"basis": c.basis, "intensity_kg_per_kwh": c.intensity_kg_per_kwh,
             "emissions_tco2eq": c.emissions_t, "source": c.source, "headline": c.headline}
            for c in account.carbon]


def run_to_json(account: RunAccount) -> dict:
    """One object of `runs`: the fixed keys first, then the details."""
    low, high = account.energy_band_mwh
    row = {key: getattr(account, key) for key in FIXED_KEYS}
    row |= {
        "name": account.name, "path": account.path, "hardware": account.hardware,
        "basis": account.headline.basis, "intensity_source": account.headline.source,
        "pue_source": account.pue_source, "facility_energy_mwh": account.facility_energy_mwh,
        "gpu_energy_band_mwh": [low, high], "error_band_rel": account.error_band_rel,
        "error_band_source": account.error_band_source, "carbon": _carbon(account),
        "node_energy_mwh": None if account.node_energy_j is None else account.node_energy_j / J_PER_MWH,
        "energy_by_node_j": account.node_energy_by_node_j, "devices": [asdict(d) for d in account.devices],
        "phases_j": account.phases_j, "tokens": account.tokens,
        "energy_per_token_j": account.energy_per_token_j,
        "kwh_per_billion_tokens": account.kwh_per_billion_tokens,
        "tokens_per_kwh": account.tokens_per_kwh, "mfu": account.mfu,
        "mfu_note": account.mfu_note,  # why mfu is null, in words ("" where it is known)
        "gaps": asdict(account.gaps), "notes": account.notes,
        "rejected_samples": account.rejected_samples, "records_dropped": account.records_dropped,
    }
    return row | holistic_json(account)


def holistic_json(account: RunAccount) -> dict:
    """Water, embodied carbon, all-hardware energy and power swings: separate from the headline."""
    h = account.holistic
    row = {"wue_l_per_kwh": None, "water_kl": None, "embodied_tco2eq": None, "all_hardware_energy_mwh": None}
    if h is not None:
        row |= {
            "wue_l_per_kwh": h.water.wue_l_per_kwh, "water_kl": h.water_kl,
            "embodied_tco2eq": h.embodied_tco2eq, "all_hardware_energy_mwh": h.all_hardware_energy_mwh,
            "wue_onsite_l_per_kwh": h.water.onsite_l_per_kwh,
            "wue_offsite_l_per_kwh": h.water.offsite_l_per_kwh, "wue_source": h.water.source,
            "gpu_hours": h.device_hours, "embodied_kg_per_device_hour": h.embodied_kg_per_device_hour,
            "embodied_source": h.embodied_source, "all_hardware_basis": h.all_hardware_basis,
        }
    row["power_swings"] = account.power_swings.to_json() if account.power_swings else None
    row["tags"] = dict(account.tags)
    if account.trace is not None:  # a trace: the format read (and whether sniffed) and what was dropped
        row["trace_format"], row["trace"] = account.trace["format"], account.trace
    return row


def to_json_dict(accounts: Sequence[RunAccount], by: str | None = None) -> dict:
    """The whole JSON report: {"runs": [...]}, and {"groups": [...]} by a tag's value with `by`."""
    report = {"runs": [run_to_json(a) for a in accounts]}
    if by is not None:
        from olmo_green.reports.groups import group_by, group_to_json

        report["groups"] = [group_to_json(g) for g in group_by(accounts, by)]
    return report
