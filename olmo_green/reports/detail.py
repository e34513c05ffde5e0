"""One run's detail in Markdown: factors, intensities, nodes, devices, phases, gaps."""

from __future__ import annotations

from olmo_green.carbon import J_PER_KWH
from olmo_green.reports.account import RunAccount

MAX_DEVICE_ROWS = 32  # beyond this, the per-node table carries the detail


def energy_text(energy_j: float) -> str:
    """Energy in the unit that reads best: J, kJ, kWh or MWh."""
    if abs(energy_j) < 1e3:
        return f"{energy_j:.1f} J"
    if abs(energy_j) < 3.6e5:
        return f"{energy_j / 1e3:.2f} kJ"
    if abs(energy_j) < 3.6e9:
        return f"{energy_j / J_PER_KWH:.3f} kWh"
    return f"{energy_j / J_PER_KWH / 1e3:.3f} MWh"


def _factors(a: RunAccount) -> list[str]:
    low, high = a.energy_band_mwh
    lines = [f"- Method: {a.method}; error band ±{a.error_band_rel:.0%}"
             f" → {low:.4g} .. {high:.4g} MWh (upper end adds what power gaps may hide)",
             f"  - band source: {a.error_band_source}",
             f"- PUE {a.pue:g}: {a.pue_source}",
             f"- Facility energy: {a.facility_energy_mwh:.4g} MWh"
             f" = {a.gpu_energy_mwh:.4g} MWh x PUE {a.pue:g}"]
    if a.node_energy_j is not None:
        node_mwh = a.node_energy_j / J_PER_KWH / 1e3
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
    mfu = "n/a (no GPU peak, or modelled energy)" if a.mfu is None else f"{a.mfu:.1%} of the profile's peak"
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


def run_detail_md(a: RunAccount) -> list[str]:
    """The Markdown section of one run."""
    lines = [f"## {a.name}", "", f"GPU energy {energy_text(a.gpu_energy_j)} ({a.path})", ""]
    lines += _factors(a) + _per_token(a) + _gaps(a)
    lines += [f"- Note: {n}" for n in a.notes]
    lines += _carbon(a) + _phases(a) + _nodes_and_devices(a) + [""]
    return lines
