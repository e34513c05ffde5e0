"""Estimates as text: Markdown, CSV, JSON (docs/design.md, Reports: fixed keys) and LaTeX."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from olmo_green.reports.estimate import Estimate
from olmo_green.reports.formats import latex_escape

NOT_MODELLED = ("evaluation, checkpointing, restarts, repeated steps and idle devices; a real campaign "
                "draws more than steady training alone")


def estimate_to_json(e: Estimate) -> dict:
    """One object of `runs`: the fixed keys of docs/design.md, Reports first, then the factors."""
    return {
        "gpu_type": e.gpu_type, "gpu_energy_mwh": e.gpu_energy_mwh, "pue": e.pue,
        "intensity_kg_per_kwh": e.intensity_kg_per_kwh, "emissions_tco2eq": e.emissions_tco2eq,
        "method": e.method, "name": f"{e.model} on {e.hardware}", "model": e.model, "hardware": e.hardware,
        "tokens": e.tokens, "flops_per_token": e.flops_per_token, "flops": e.flops, "mfu": e.mfu,
        "mfu_source": e.mfu_source, "device_hours": e.device_hours,
        "power_per_device_w": e.power_per_device_w, "power_source": e.power_source,
        "pue_source": e.pue_source,
        "carbon": [{"basis": c.basis, "intensity_kg_per_kwh": c.intensity_kg_per_kwh,
                    "emissions_tco2eq": c.emissions_t, "source": c.source, "headline": c.headline}
                   for c in e.carbon],
        "published_gpu_energy_mwh": e.published_scaled_mwh,
        "published_source": e.published.source if e.published else None,
        "deviation_from_published": e.deviation_from_published,
        **_holistic_json(e),
    }


def _holistic_json(e: Estimate) -> dict:
    h = e.holistic
    return {"wue_l_per_kwh": h.water.wue_l_per_kwh, "water_kl": h.water_kl, "wue_source": h.water.source,
            "embodied_tco2eq": h.embodied_tco2eq, "embodied_source": h.embodied_source,
            "all_hardware_energy_mwh": h.all_hardware_energy_mwh, "all_hardware_basis": h.all_hardware_basis}


def _holistic_notes(e: Estimate) -> list[str]:
    """Water and embodied carbon beside the headline, never in it; n/a where no factor is published."""
    h = e.holistic
    water = (f"- Water: n/a, no WUE ({h.water.source}); pass --wue" if h.water_kl is None else
             f"- Water: {h.water_kl:.4g} kL = {e.gpu_energy_mwh:.4g} MWh x PUE {e.pue:g} x WUE "
             f"{h.water.wue_l_per_kwh:g} L/kWh: {h.water.source}")
    embodied = (f"- Embodied carbon: n/a ({h.embodied_source})" if h.embodied_tco2eq is None else
                f"- Embodied carbon (not in the emissions): {h.embodied_tco2eq:.4g} tCO2eq = "
                f"{e.device_hours:,.0f} device-hours x {h.embodied_kg_per_device_hour:g} kg/device-hour: "
                f"{h.embodied_source}")
    return [water, embodied]


def _cells(e: Estimate) -> list[str]:
    intensity = "n/a (pass --intensity)" if e.intensity_kg_per_kwh is None else \
        f"{e.intensity_kg_per_kwh:.3g} ({e.carbon[0].basis})"
    emissions = "n/a" if e.emissions_tco2eq is None else f"{e.emissions_tco2eq:.2f}"
    versus = "-" if e.deviation_from_published is None else \
        f"{e.deviation_from_published:+.1%} vs {e.published_scaled_mwh:.4g} MWh"
    return [e.hardware, e.gpu_type, f"{e.mfu:.0%}", f"{e.device_hours:,.0f}",
            f"{e.power_per_device_w:g}", f"{e.gpu_energy_mwh:.4g}", f"{e.pue:g}", intensity, emissions,
            versus]


HEADER = ["Hardware", "GPU Type", "MFU", "Device-hours", "Power per device (W)",
          "Power Consumption From GPUs (MWh)", "PUE", "Carbon Intensity (kg CO2e/kWh)",
          "Carbon Emissions (tCO2eq)", "vs published"]


def _notes(e: Estimate) -> list[str]:
    lines = [f"### {e.hardware}", "",
             f"- MFU {e.mfu:.2f}: {e.mfu_source}",
             f"- Power per device {e.power_per_device_w:g} W: {e.power_source}",
             f"- PUE {e.pue:g}: {e.pue_source}"]
    lines += [f"- {c.basis} intensity {c.intensity_kg_per_kwh:.4g} kg/kWh → {c.emissions_t:.4g} tCO2eq:"
              f" {c.source}" for c in e.carbon]
    lines += _holistic_notes(e)
    if e.published is not None:
        word = "below" if e.deviation_from_published < 0 else "above"
        lines.append(f"- Published: {e.published.gpu_energy_mwh:g} MWh for {e.published.tokens:.3g} tokens "
                     f"({e.published.source}); at {e.tokens:.3g} tokens that is "
                     f"{e.published_scaled_mwh:.4g} MWh, and this estimate is "
                     f"{abs(e.deviation_from_published):.1%} {word} it")
    return lines + [""]


def estimates_markdown(estimates: Sequence[Estimate]) -> str:
    first = estimates[0]
    lines = ["# Estimated energy and emissions (modelled, not measured)", "",
             f"{first.model}: {first.flops_per_token:.4g} training FLOPs per token (6 x matmul weights + "
             f"attention), x {first.tokens:.4g} tokens = {first.flops:.4g} FLOPs", "",
             "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(_cells(e)) + " |" for e in estimates]
    lines += ["", f"Not modelled: {NOT_MODELLED}.", ""]
    for e in estimates:
        lines += _notes(e)
    return "\n".join(lines).rstrip() + "\n"


def render_estimates(estimates: Sequence[Estimate], fmt: str) -> str:
    rows = [estimate_to_json(e) for e in estimates]
    if fmt == "json":
        return json.dumps({"runs": rows}, indent=2, allow_nan=False) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        skip = {"carbon"}
        columns = [k for k in rows[0] if k not in skip]
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
    if fmt == "latex":
        body = [" & ".join(latex_escape(c) for c in _cells(e)) + r" \\" for e in estimates]
        head = " & ".join(latex_escape(h) for h in HEADER) + r" \\"
        return "\n".join([r"\begin{tabular}{llrrrrrrrl}", r"\hline", head, r"\hline", *body, r"\hline",
                          r"\end{tabular}", ""])
    return estimates_markdown(estimates)
