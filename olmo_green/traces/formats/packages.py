"""MI250X: one package, two GCDs seen as two devices; power and energy belong to the package.

amd-smi and rocm-smi print the package's socket power on the primary GCD and
0 or "N/A (Secondary die)" on the secondary (rocm_smi.py showPower; ROCm/rocm_smi_lib
issue #160). As the native path does (telemetry/sources/amdsmi.py), a device
whose first reading has no power (0 or N/A) is a secondary GCD: its rows are
dropped and counted, so each package counts once, on its primary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

REASON = "secondary GCD (its package is counted on the primary)"


class Secondaries:
    def __init__(self, stats) -> None:
        self.stats = stats
        self.kind: dict[str, bool] = {}  # device -> secondary?

    def keep(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Rows of primary devices only; a device is judged by its first row."""
        devices = rows["device"].to_numpy(dtype=object)
        power = rows["power_w"].to_numpy(dtype=np.float64)
        for device in pd.unique(devices):
            if device not in self.kind:
                first = power[np.flatnonzero(devices == device)[0]]
                self.kind[device] = not (first > 0)
                if self.kind[device]:
                    self.stats.note(f"device {device} reads no power at its first row: an MI250X "
                                    "secondary GCD, its package counted on the primary GCD")
        secondary = pd.Series(devices).map(self.kind).to_numpy(dtype=bool)
        self.stats.drop(REASON, int(secondary.sum()))
        return rows[~secondary].reset_index(drop=True)
