"""CPU package and DRAM energy through Linux powercap (Intel RAPL; AMD's too).

    <root>/intel-rapl:N/{name, energy_uj, max_energy_range_uj}     package-N
    <root>/intel-rapl:N/intel-rapl:N:M/...                         dram (core/uncore skipped)

energy_uj wraps at max_energy_range_uj. The source unwraps it (it sees every
read, so it knows each wrap), so the record holds a counter that only drops
on a true reset, which integrate.py then handles.
"""

from __future__ import annotations

from pathlib import Path

from olmo_green.errors import SensorError
from olmo_green.telemetry.sources.base import DeviceInfo, Reading, Source, read_number

POWERCAP_ROOT = Path("/sys/class/powercap")
MICRO = 1e-6
# core and uncore are parts of the package: counting them too would count twice.
DOMAINS = {"package": "cpu", "dram": "dram", "psys": "node"}


class _Zone:
    def __init__(self, label: str, domain: str, path: Path) -> None:
        self.label, self.domain, self.path = label, domain, path
        self.range_uj = read_number(path / "max_energy_range_uj", "rapl")
        self.last_uj: float | None = None
        self.offset_uj = 0.0

    def unwrapped_uj(self) -> float:
        raw = read_number(self.path / "energy_uj", "rapl")
        if self.last_uj is not None and raw < self.last_uj:
            self.offset_uj += self.range_uj
        self.last_uj = raw
        return raw + self.offset_uj


class RaplSource(Source):
    name = "rapl"

    def __init__(self, root: str | Path = POWERCAP_ROOT) -> None:
        super().__init__()
        self.root = Path(root)
        self._zones: list[_Zone] = []

    def _open(self) -> list[DeviceInfo]:
        zones = sorted(self.root.glob("intel-rapl:*")) + sorted(self.root.glob("intel-rapl:*/intel-rapl:*"))
        for path in zones:
            if not (path / "name").is_file():
                continue
            name = (path / "name").read_text(encoding="ascii").strip()
            domain = DOMAINS.get(name.split("-")[0])
            if domain is None:
                continue
            label = f"dram-{path.name.split(':')[1]}" if domain == "dram" else name  # one dram per package
            zone = _Zone(label, domain, path)
            zone.unwrapped_uj()  # fail now, with the permission hint, rather than in the sampler
            self._zones.append(zone)
        if not self._zones:
            raise SensorError(f"rapl: no powercap package zone under {self.root}")
        return [DeviceInfo(z.label, z.domain, "RAPL", "counter", note=str(z.path)) for z in self._zones]

    def _read(self, time_s: float) -> list[Reading]:
        return [Reading(time_s, z.label, z.domain, energy_j=z.unwrapped_uj() * MICRO, source=self.name)
                for z in self._zones]
