"""Small sources for tests: steady, failing on demand."""

from olmo_green.errors import SensorError
from olmo_green.telemetry.sources.base import DeviceInfo, Reading, Source


class SteadySource(Source):
    """`devices` GPUs at constant power with an exact counter; `fail` makes reads raise."""

    name = "steady"

    def __init__(self, power_w: float = 100.0, devices: int = 1, domain: str = "gpu") -> None:
        super().__init__()
        self.power_w, self.count, self.domain, self.fail = power_w, devices, domain, False
        self._first_s: float | None = None

    def _open(self) -> list[DeviceInfo]:
        return [DeviceInfo(str(i), self.domain, "steady", "counter") for i in range(self.count)]

    def _read(self, time_s: float) -> list[Reading]:
        if self.fail:
            raise SensorError("steady: unplugged")
        self._first_s = time_s if self._first_s is None else self._first_s
        energy_j = self.power_w * (time_s - self._first_s)
        return [Reading(time_s, str(i), self.domain, self.power_w, energy_j, self.name)
                for i in range(self.count)]
