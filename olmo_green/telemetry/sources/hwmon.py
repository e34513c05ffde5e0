"""AMD GPUs through amdgpu's sysfs hwmon files: works with no ROCm library.

    <root>/card*/device/hwmon/hwmon*/name            "amdgpu"
    <root>/card*/device/hwmon/hwmon*/power1_average  microwatts (power1_input on newer parts)
    <root>/card*/device/hwmon/hwmon*/energy1_input   microjoules, where present

As with amdsmi, an MI250X's secondary GCD reads 0 power: it is listed, not counted.
"""

from __future__ import annotations

import math
from pathlib import Path

from olmo_green.errors import SensorError
from olmo_green.telemetry.sources.base import DeviceInfo, Reading, Source, read_number

DRM_ROOT = Path("/sys/class/drm")
MICRO = 1e-6


def _card_number(path: Path) -> int:
    digits = "".join(ch for ch in path.name if ch.isdigit())
    return int(digits) if digits else 0


class HwmonSource(Source):
    name = "hwmon"

    def __init__(self, root: str | Path = DRM_ROOT) -> None:
        super().__init__()
        self.root = Path(root)
        self._files: list[tuple[str, Path | None, Path | None]] = []  # (label, power, energy)

    def _amdgpu_dirs(self) -> list[tuple[str, Path]]:
        found = []
        for card in sorted(self.root.glob("card[0-9]*"), key=_card_number):
            if "-" in card.name:
                continue  # connectors such as card0-DP-1
            for hwmon in sorted((card / "device" / "hwmon").glob("hwmon*")):
                name = hwmon / "name"
                if name.is_file() and name.read_text(encoding="ascii").strip() == "amdgpu":
                    found.append((card.name, hwmon))
        return found

    def _open(self) -> list[DeviceInfo]:
        dirs = self._amdgpu_dirs()
        if not dirs:
            raise SensorError(f"hwmon: no amdgpu hwmon directory under {self.root}")
        infos = []
        for label, hwmon in dirs:
            power = next((hwmon / f for f in ("power1_average", "power1_input") if (hwmon / f).is_file()),
                         None)
            energy = hwmon / "energy1_input" if (hwmon / "energy1_input").is_file() else None
            if power is None or read_number(power, "hwmon") == 0:
                infos.append(DeviceInfo(label, "gpu", "amdgpu", "counter", counted=False,
                                        note="reads no power (MI250X secondary GCD): counted in its package"))
                continue
            self._files.append((label, power, energy))
            method = "counter" if energy else "power_integration"
            infos.append(DeviceInfo(label, "gpu", "amdgpu", method, note=str(hwmon)))
        return infos

    def _read(self, time_s: float) -> list[Reading]:
        readings = []
        for label, power, energy in self._files:
            power_w = read_number(power, "hwmon") * MICRO if power else math.nan
            energy_j = read_number(energy, "hwmon") * MICRO if energy else math.nan
            readings.append(Reading(time_s, label, "gpu", power_w, energy_j, self.name))
        return readings
