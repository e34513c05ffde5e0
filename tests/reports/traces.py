"""Small synthetic traces and run directories for report tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

J_PER_MWH = 3.6e9


def constant_power_trace(path: Path, energy_mwh: float, devices: int = 8, power_w: float = 400.0,
                         samples: int = 5, start_s: float = 1.6e9) -> Path:
    """A trace whose devices draw `power_w` long enough to total `energy_mwh`.

    It starts in 2020 so that a model card's 104 MWh on 8 devices (3.7 years) still ends in the
    past: a trace's times must be plausible UNIX seconds."""
    duration_s = energy_mwh * J_PER_MWH / devices / power_w
    time_s = start_s + np.linspace(0.0, duration_s, samples)
    frame = pd.DataFrame({
        "time_s": np.tile(time_s, devices),
        "device": np.repeat([str(d) for d in range(devices)], samples),
        "power_w": power_w,
    })
    frame.to_csv(path, index=False)
    return path


def write_run(run_dir: Path, hardware: str = "mosaicml-a100", node_domain: bool = True,
              node: str = "n0") -> Path:
    """A tiny run record: 2 GPUs at 300 W for 100 s, steps/eval windows, a gap event. Records with
    the same `node` hold the same samples: one run to a report (summaries/identity.py)."""
    telemetry = run_dir / "telemetry"
    telemetry.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(f"hardware: {hardware}\n")
    time_s = 1.7e9 + np.arange(0.0, 101.0, 1.0)
    rows = [pd.DataFrame({"time_s": time_s, "node": node, "device": str(d), "domain": "gpu",
                          "power_w": 300.0, "energy_j": np.nan, "source": "nvml"}) for d in range(2)]
    if node_domain:
        rows.append(pd.DataFrame({"time_s": time_s, "node": node, "device": "node", "domain": "node",
                                  "power_w": np.nan, "energy_j": 1000.0 * (time_s - time_s[0]),
                                  "source": "cray_pm"}))
    pd.concat(rows).to_csv(telemetry / f"{node}.open.csv", index=False)
    starts = 1.7e9 + np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    pd.DataFrame({"step": [1, 2, 3, 3, 4], "time_start_s": starts, "time_end_s": starts + 10.0,
                  "tokens": [1000, 1000, 1000, 0, 1000], "loss": 1.0, "lr": 1e-3, "energy_j": np.nan,
                  "phase": ["train", "train", "train", "eval", "train"]}).to_csv(run_dir / "steps.csv",
                                                                                index=False)
    (run_dir / "events.jsonl").write_text(
        '{"kind": "gap_start", "source": "nvml", "time_s": 1700000060.0}\n'
        '{"kind": "gap_end", "source": "nvml", "time_s": 1700000063.5, "duration_s": 3.5}\n'
        '{"kind": "gap_start", "source": "nvml", "time_s": 1700000099.0}\n')
    return run_dir
