"""HPE Cray EX node counters in /sys/cray/pm_counters (LUMI: whole-node energy).

Files hold "<value> <unit> <timestamp> us": energy (node), cpu_energy,
memory_energy, accel0..3_energy in joules, the matching *power files in
watts, and `freshness`, which increments each time the counters update. A
read is consistent when freshness is the same before and after it.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from olmo_green.errors import SensorError
from olmo_green.telemetry.sources.base import DeviceInfo, Reading, Source, read_number

PM_ROOT = Path("/sys/cray/pm_counters")
FIXED = {"energy": ("node", "node"), "cpu_energy": ("cpu", "cpu"), "memory_energy": ("memory", "dram")}
ACCEL = re.compile(r"accel(\d+)_energy")
CONSISTENT_TRIES = 3


class CrayPmSource(Source):
    name = "cray_pm"

    def __init__(self, root: str | Path = PM_ROOT) -> None:
        super().__init__()
        self.root = Path(root)
        self._counters: list[tuple[str, str, Path, Path | None]] = []  # label, domain, energy, power

    def _open(self) -> list[DeviceInfo]:
        if not (self.root / "freshness").is_file():
            raise SensorError(f"cray_pm: {self.root}/freshness not found (not an HPE Cray EX node)")
        for path in sorted(self.root.iterdir()):
            label, domain = FIXED.get(path.name, (None, None))
            match = ACCEL.fullmatch(path.name)
            if match:
                label, domain = f"accel{match.group(1)}", "gpu"
            if label is None:
                continue
            power = path.with_name(path.name.replace("energy", "power"))
            self._counters.append((label, domain, path, power if power.is_file() else None))
        if not self._counters:
            raise SensorError(f"cray_pm: no energy counters in {self.root}")
        return [DeviceInfo(label, domain, "Cray PM counter", "counter", note=str(path))
                for label, domain, path, _ in self._counters]

    def _read(self, time_s: float) -> list[Reading]:
        for _ in range(CONSISTENT_TRIES):
            before = read_number(self.root / "freshness", "cray_pm")
            readings = [self._one(time_s, *counter) for counter in self._counters]
            if read_number(self.root / "freshness", "cray_pm") == before:
                return readings
        raise SensorError("cray_pm: counters kept changing during the read")

    def _one(self, time_s: float, label: str, domain: str, energy: Path, power: Path | None) -> Reading:
        power_w = read_number(power, "cray_pm") if power else math.nan
        return Reading(time_s, label, domain, power_w, read_number(energy, "cray_pm"), self.name)
