"""One run's detail in Markdown: factors, intensities, nodes, devices, phases, gaps."""

from __future__ import annotations

from olmo_green.reports.account import RunAccount
from olmo_green.reports.swings import PowerSwings, Swing
from olmo_green.units import J_PER_KWH, J_PER_MWH, mwh

MAX_DEVICE_ROWS = 32  # beyond this, the per-node table carries the detail


def energy_text(energy_j: float) -> str:
    """Energy in the unit that reads best: J, kJ, kWh or MWh."""
    if abs(energy_j) < 1e3:
        return f"{energy_j:.1f} J"
    if abs(energy_j) < 3.6e5:
        return f"{energy_j / 1e3:.2f} kJ"
    if abs(energy_j) < J_PER_MWH:
        return f"{energy_j / J_PER_KWH:.3f} kWh"
    return f"{mwh(energy_j):.3f} MWh"


def _factors(a: RunAccount) -> list[str]:
    low, high = a.energy_band_mwh
    lines = [f"- Method: {a.method}; error band ±{a.error_band_rel:.0%}"
             f" → {low:.4g} .. {high:.4g} MWh (upper end adds what power gaps may hide)",
             f"  - band source: {a.error_band_source}",
             f"- PUE {a.pue:g}: {a.pue_source}",
             f"- Facility energy: {a.facility_energy_mwh:.4g} MWh"
             f" = {a.gpu_energy_mwh:.4g} MWh x PUE {a.pue:g}"]
    if a.node_energy_j is not None:
        node_mwh = mwh(a.node_energy_j)
        lines.append("- Whole-node energy (measured, includes the GPUs; not added to them):"
                     f" {node_mwh:.4g} MWh, x PUE = {node_mwh * a.pue:.4g} MWh")
    return lines


def _carbon(a: RunAccount) -> list[str]:
    lines = ["", "| Basis | Intensity (kg CO2e/kWh) | Emissions (tCO2eq) | Source |", "|---|---|---|---|"]
    for c in a.carbon:
        mark = " (headline)" if c.headline else ""
        lines.append(f"| {c.basis}{mark} | {c.intensity_kg_per_kwh:.4g} | {c.emissions_t:.4g} | {c.source} |")
    return lines


def _per_token(a: RunAccount) -> list[str]:
    if not a.tokens:
        return ["- Energy per token: n/a (no tokens in steps.csv)"]
    mfu = f"n/a ({a.mfu_note or 'unknown'})" if a.mfu is None else f"{a.mfu:.1%} of the profile's peak"
    return [f"- Tokens: {a.tokens:,.0f}; energy per token {a.energy_per_token_j:.4g} J/token;"
            f" {a.kwh_per_billion_tokens:.4g} kWh per billion tokens (all GPU energy / train tokens)",
            f"- Efficiency: {a.tokens_per_kwh:,.0f} tokens per kWh of GPU energy; MFU {mfu}"]


def _phases(a: RunAccount) -> list[str]:
    if not a.phases_j:
        return []
    total = a.gpu_energy_j or 1.0
    lines = ["", "| Phase | GPU energy | Share |", "|---|---|---|"]
    for phase, energy_j in a.phases_j.items():
        lines.append(f"| {phase} | {energy_text(energy_j)} | {energy_j / total:.1%} |")
    return lines


def _nodes_and_devices(a: RunAccount) -> list[str]:
    lines = ["", "| Node | GPU energy |", "|---|---|"]
    lines += [f"| {n} | {energy_text(e)} |" for n, e in sorted(a.node_energy_by_node_j.items())]
    shown = a.devices[:MAX_DEVICE_ROWS]
    lines += ["", "| Node | Device | Domain | Method | Energy | Resets | Gaps (s) |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {d.node} | {d.device} | {d.domain} | {d.method} | {energy_text(d.energy_j)} | {d.resets} |"
              f" {d.gap_s:.0f} |" for d in shown]
    if len(a.devices) > len(shown):
        lines.append(f"| … {len(a.devices) - len(shown)} more devices (see --format json) | | | | | | |")
    return lines


def _gaps(a: RunAccount) -> list[str]:
    g = a.gaps
    line = (f"- Gaps: {g.count} in the samples, {g.seconds:.0f} s in all; energy not counted across power"
            f" gaps at most {energy_text(g.upper_j)}")
    if g.events:
        line += f"; {g.events} gap event(s) recorded by the meter ({g.event_s:.0f} s)"
    return [line]


def _water(a: RunAccount) -> str:
    water = a.holistic.water
    if water.wue_l_per_kwh is None:
        return f"- Water: n/a, no WUE ({water.source}); pass --wue L_PER_KWH"
    split = "" if water.onsite_l_per_kwh is None else \
        f" (on-site {water.onsite_l_per_kwh:g} + off-site {water.offsite_l_per_kwh:g})"
    return (f"- Water: {a.holistic.water_kl:.4g} kL = {a.gpu_energy_mwh:.4g} MWh x PUE {a.pue:g} x WUE "
            f"{water.wue_l_per_kwh:g} L/kWh{split}; {water.source}")


def _hours(hours: float) -> str:
    return f"{hours:,.1f}" if hours >= 10 else f"{hours:.3g}"


def _embodied(a: RunAccount) -> str:
    h = a.holistic
    if h.embodied_kg_per_device_hour is None:
        return f"- Embodied carbon: n/a for {_hours(h.device_hours)} device-hours ({h.embodied_source})"
    return (f"- Embodied carbon (manufacturing, not added to the emissions above): {h.embodied_tco2eq:.4g} "
            f"tCO2eq = {_hours(h.device_hours)} device-hours x {h.embodied_kg_per_device_hour:g} kg CO2e per "
            f"device-hour; {h.embodied_source}")


def _all_hardware(a: RunAccount) -> str:
    h = a.holistic
    if h.all_hardware_energy_mwh is None:
        return f"- All-hardware energy: n/a, {h.all_hardware_basis}"
    return (f"- All-hardware energy (not added to the GPU energy): {h.all_hardware_energy_mwh:.4g} MWh, "
            f"{h.all_hardware_basis}")


def _holistic(a: RunAccount) -> list[str]:
    return [] if a.holistic is None else [_water(a), _embodied(a), _all_hardware(a)]


def _swing_text(s: PowerSwings, window: Swing) -> str:
    if not window.available:
        return f"within {window.window_s:g} s: unavailable, {window.why}"
    drop_pct, rise_pct = (s.percent_of_peak(w, window.peak_w) for w in (window.drop_w, window.rise_w))
    finer = f" in {window.bucket_s:g} s buckets, peak {window.peak_w / 1e3:.4g} kW" if window.bucket_s else ""
    return (f"within {window.window_s:g} s{finer}: largest drop {window.drop_w / 1e3:.4g} kW "
            f"({drop_pct:.0f}% of peak, {window.drop_phase or '-'}), largest rise "
            f"{window.rise_w / 1e3:.4g} kW ({rise_pct:.0f}%, {window.rise_phase or '-'})")


def _swings(a: RunAccount) -> list[str]:
    s = a.power_swings
    if s is None:
        return []
    lines = [f"- Job power ({s.bucket_s:g} s bucket means, summed over nodes): peak {s.peak_w / 1e3:.4g} kW, "
             f"mean {s.mean_w / 1e3:.4g} kW, floor while running {s.floor_w / 1e3:.4g} kW "
             f"({s.percent_of_peak(s.floor_w):.0f}% of peak, {s.floor_phase}); "
             f"{s.swings_over_half_peak} swing(s) over half of peak"]
    lines += [f"  - {_swing_text(s, w)}" for w in s.windows]
    if s.incomplete_buckets:
        lines.append(f"  - {s.incomplete_buckets} bucket(s) left out: fewer nodes reported than the job's "
                     "most, or no time measured in them")
    return lines


def run_detail_md(a: RunAccount) -> list[str]:
    """The Markdown section of one run."""
    lines = [f"## {a.name}", "", f"GPU energy {energy_text(a.gpu_energy_j)} ({a.path})", ""]
    if a.tags:
        lines += ["Tags: " + ", ".join(f"{k}={v}" for k, v in sorted(a.tags.items())), ""]
    lines += _factors(a) + _holistic(a) + _swings(a) + _per_token(a) + _gaps(a)
    lines += [f"- Note: {n}" for n in a.notes]
    lines += _carbon(a) + _phases(a) + _nodes_and_devices(a) + [""]
    return lines
