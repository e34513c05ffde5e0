"""Small steady simulated runs written with EnergyMeter (no model, no torch): steps of fixed
length, so their energy is steady, and an eval window every `eval_every` steps."""

import time
from pathlib import Path

from olmo_green.telemetry.meter import EnergyMeter

STEP_S = 0.1  # long beside a loaded machine's sleep overshoot (~10 ms), so steps stay steady
TOKENS = 4096


def steady_run(run_dir: Path, hardware: str = "mosaicml-a100", steps: int = 10, eval_every: int = 0,
               tags: dict | None = None, **options) -> EnergyMeter:
    """Train `steps` steady steps under a simulated meter; return the closed meter."""
    meter = EnergyMeter(run_dir, hardware, simulate=True, sampling_interval_s=0.01, tags=tags, **options)
    with meter:
        for step in range(1, steps + 1):
            time.sleep(STEP_S)
            meter.step(tokens=TOKENS, loss=4.0 - 0.1 * step, lr=1e-3)
            if eval_every and step % eval_every == 0:
                with meter.phase("eval"):
                    time.sleep(STEP_S)
    return meter
