"""Small sources for tests: steady, failing on demand."""

import time

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


class SwitchedSource(Source):
    """One GPU whose power the test switches; its counter integrates that power exactly."""

    name = "switched"

    def __init__(self) -> None:
        super().__init__()
        self.power_w, self._energy_j, self._since_s = 0.0, 0.0, time.monotonic()

    def switch(self, power_w: float) -> None:
        self._energy_j = self._counter_j()
        self.power_w, self._since_s = power_w, time.monotonic()

    def _counter_j(self) -> float:
        return self._energy_j + self.power_w * (time.monotonic() - self._since_s)

    def _open(self) -> list[DeviceInfo]:
        return [DeviceInfo("0", "gpu", "switched", "counter")]

    def _read(self, time_s: float) -> list[Reading]:
        return [Reading(time_s, "0", "gpu", self.power_w, self._counter_j(), self.name)]
