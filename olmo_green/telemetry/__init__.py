"""The telemetry layer: sensor sources, the background sampler, the per-step meter,
the run-record store and the training callback (docs/design.md, Measurement).

For any training loop:

    from olmo_green.telemetry import EnergyMeter
    with EnergyMeter(run_dir="runs/a", hardware="lumi", simulate=True) as meter:
        ...
        meter.step(tokens=n)

For olmo-green's trainer: EnergyCallback; for transformers.Trainer: hf_energy_callback.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["EnergyCallback", "EnergyMeter", "hf_energy_callback"]
_HOMES = {"EnergyCallback": "callback", "EnergyMeter": "meter", "hf_energy_callback": "hf"}


def __getattr__(name: str) -> Any:
    """Imported on first use: a module of telemetry (its sources, say) is imported without
    pulling in the meter, its store and the summaries."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
