"""Small synthetic traces and run directories for report tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

J_PER_MWH = 3.6e9


def constant_power_trace(path: Path, energy_mwh: float, devices: int = 8, power_w: float = 400.0,
                         samples: int = 5, start_s: float = 1.7e9) -> Path:
    """A trace whose devices draw `power_w` long enough to total `energy_mwh`."""
    duration_s = energy_mwh * J_PER_MWH / devices / power_w
    time_s = start_s + np.linspace(0.0, duration_s, samples)
    frame = pd.DataFrame({
        "time_s": np.tile(time_s, devices),
        "device": np.repeat([str(d) for d in range(devices)], samples),
        "power_w": power_w,
    })
    frame.to_csv(path, index=False)
    return path
