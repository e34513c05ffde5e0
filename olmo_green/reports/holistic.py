"""Beyond the model card's headline: water, embodied carbon and all-hardware energy.

Each is a separate line of the report, with its factor's source, and none is ever
added to the headline (GPU energy x PUE x intensity, as the model card prints):

- water = GPU energy x PUE x (WUE on-site + WUE off-site), the OLMo 2 paper's
  formula (arXiv 2501.00656, §6.5); on-site is the data centre's cooling, off-site
  the water consumed generating its electricity;
- embodied carbon = device-hours x the profile's kg CO2e per device-hour
  (manufacturing amortised over an assumed lifetime, Morrison et al. 2025);
- all-hardware energy = measured node energy where node counters exist (Cray
  pm_counters); else GPU + CPU + DRAM where RAPL measured them (a lower bound);
  else GPU energy x the profile's non_gpu_overhead, labelled an estimate.

A factor nobody published stays None and the line says so; nothing is invented.
"""

from __future__ import annotations

from dataclasses import dataclass

from olmo_green.hardware import HardwareProfile
from olmo_green.units import J_PER_KWH, KG_PER_T, L_PER_KL, mwh

NOT_PUBLISHED = "no figure published for this profile"


@dataclass(frozen=True)
class Water:
    """The WUE that applies to a run, with its parts where the source gives them."""

    wue_l_per_kwh: float | None  # on-site + off-site
    onsite_l_per_kwh: float | None
    offsite_l_per_kwh: float | None
    source: str


@dataclass(frozen=True)
class Holistic:
    """A run's water, embodied carbon and all-hardware energy, each with where it came from."""

    water: Water
    water_l: float | None
    device_hours: float
    embodied_kg_per_device_hour: float | None
    embodied_source: str
    all_hardware_energy_j: float | None
    all_hardware_basis: str  # measured node energy, measured GPU+CPU+DRAM, estimate, or why none

    @property
    def water_kl(self) -> float | None:
        return None if self.water_l is None else self.water_l / L_PER_KL

    @property
    def embodied_tco2eq(self) -> float | None:
        factor = self.embodied_kg_per_device_hour
        return None if factor is None else self.device_hours * factor / KG_PER_T

    @property
    def all_hardware_energy_mwh(self) -> float | None:
        energy_j = self.all_hardware_energy_j
        return None if energy_j is None else mwh(energy_j)


def _source(profile: HardwareProfile | None, key: str) -> str:
    if profile is None:
        return "no hardware profile (pass --hardware)"
    return profile.sources.get(key) or NOT_PUBLISHED


def resolve_water(profile: HardwareProfile | None, wue: float | None = None) -> Water:
    """`--wue` if given, else the profile's on-site + off-site (or published total)."""
    if wue is not None:
        return Water(wue, None, None, "--wue")
    if profile is None or profile.wue_total_l_per_kwh is None:
        return Water(None, None, None, _source(profile, "wue_l_per_kwh"))
    if profile.wue_l_per_kwh is not None:
        return Water(profile.wue_l_per_kwh, None, None, _source(profile, "wue_l_per_kwh"))
    source = (f"on-site {profile.wue_onsite_l_per_kwh:g}: {_source(profile, 'wue_onsite_l_per_kwh')}; "
              f"off-site {profile.wue_offsite_l_per_kwh:g}: {_source(profile, 'wue_offsite_l_per_kwh')}")
    return Water(profile.wue_total_l_per_kwh, profile.wue_onsite_l_per_kwh, profile.wue_offsite_l_per_kwh,
                 source)


def _all_hardware(gpu_energy_j: float, node_energy_j: float | None, host_energy_j: float | None,
                  profile: HardwareProfile | None) -> tuple[float | None, str]:
    if node_energy_j is not None:
        return node_energy_j, "measured: whole-node energy counters (domain node), GPUs included"
    if host_energy_j is not None:
        return (gpu_energy_j + host_energy_j, "measured GPU + CPU + DRAM (RAPL); fans, network and storage "
                "are not measured, so this is a lower bound")
    if profile is not None and profile.non_gpu_overhead is not None:
        return (gpu_energy_j * profile.non_gpu_overhead,
                f"estimate: GPU energy x non_gpu_overhead {profile.non_gpu_overhead:g} (node energy not "
                f"measured): {_source(profile, 'non_gpu_overhead')}")
    why = _source(profile, "non_gpu_overhead")
    return None, f"not estimated: node energy not measured and no non_gpu_overhead ({why})"


def holistic(gpu_energy_j: float, pue: float, device_hours: float, profile: HardwareProfile | None,
             wue: float | None = None, node_energy_j: float | None = None,
             host_energy_j: float | None = None) -> Holistic:
    """The three lines for one run. `host_energy_j`: measured CPU and DRAM energy (RAPL), if any."""
    water = resolve_water(profile, wue)
    water_l = None if water.wue_l_per_kwh is None else gpu_energy_j / J_PER_KWH * pue * water.wue_l_per_kwh
    factor = profile.embodied_kg_per_device_hour if profile is not None else None
    energy_j, basis = _all_hardware(gpu_energy_j, node_energy_j, host_energy_j, profile)
    return Holistic(water=water, water_l=water_l, device_hours=device_hours,
                    embodied_kg_per_device_hour=factor,
                    embodied_source=_source(profile, "embodied_kg_per_device_hour"),
                    all_hardware_energy_j=energy_j, all_hardware_basis=basis)
