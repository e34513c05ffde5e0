"""The telemetry layer: sensor sources, the background sampler, the per-step meter,
the run-record store and the training callback (docs/design.md, Measurement).

For any training loop:

    from olmo_green.telemetry import EnergyMeter
    with EnergyMeter(run_dir="runs/a", hardware="lumi", simulate=True) as meter:
        ...
        meter.step(tokens=n)

For olmo-green's trainer: EnergyCallback; for transformers.Trainer: hf_energy_callback.
"""

from olmo_green.telemetry.callback import EnergyCallback
from olmo_green.telemetry.hf import hf_energy_callback
from olmo_green.telemetry.meter import EnergyMeter

__all__ = ["EnergyCallback", "EnergyMeter", "hf_energy_callback"]
