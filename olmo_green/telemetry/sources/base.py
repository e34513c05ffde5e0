"""The one interface every sensor source implements (after Zeus's device layer).

A source is constructed cheaply and probed lazily: `open()` finds its devices
(and raises SensorError saying why not), `read(time_s)` returns one Reading per
counted device, in SI units (W, J). Vendor errors are translated once, here at
the boundary, with `raise SensorError(...) from e`.
"""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from olmo_green.errors import SensorError


@dataclass(frozen=True)
class Reading:
    """One sample of one device: the run record's sample columns, minus `node`."""

    time_s: float  # UNIX seconds, stamped by the sampler's monotonic clock
    device: str
    domain: str  # gpu, cpu, dram, node
    power_w: float = math.nan
    energy_j: float = math.nan  # cumulative counter; nan when the device has none
    source: str = ""


@dataclass(frozen=True)
class DeviceInfo:
    """What `open()` found: one logical device and how it is measured."""

    device: str  # the label written to the record
    domain: str
    name: str
    method: str  # counter, power_integration, modelled or replayed (record.METHODS)
    counted: bool = True  # False: its energy belongs to another device (MI250X secondary GCD)
    note: str = ""


class Source(ABC):
    """A sensor kind. Subclasses implement `_open` and `_read`."""

    name: ClassVar[str] = ""

    def __init__(self) -> None:
        self._devices: list[DeviceInfo] | None = None
        self._lock = threading.Lock()  # read() on the sampler thread, phase changes on the trainer's
        self.domains: set[str] | None = None  # restrict readings to these domains (detect.py sets it)

    def open(self) -> list[DeviceInfo]:
        """Probe the sensor (once) and return its devices; raises SensorError if unusable."""
        with self._lock:
            if self._devices is None:
                self._devices = self._open()
            return list(self._devices)

    def devices(self) -> list[DeviceInfo]:
        devices = self.open()
        return [d for d in devices if self.domains is None or d.domain in self.domains]

    def read(self, time_s: float) -> list[Reading]:
        """One reading per counted device at `time_s`; raises SensorError on a fault."""
        self.open()
        with self._lock:
            readings = self._read(time_s)
        if self.domains is not None:
            readings = [r for r in readings if r.domain in self.domains]
        return readings

    def set_phase(self, phase: str, time_s: float) -> None:
        """The trainer entered `phase` at `time_s`; only modelled sources care."""
        return None

    def close(self) -> None:
        """Release the vendor library; safe to call twice."""
        return None

    @abstractmethod
    def _open(self) -> list[DeviceInfo]:
        ...

    @abstractmethod
    def _read(self, time_s: float) -> list[Reading]:
        ...


def read_number(path, what: str) -> float:
    """A sysfs value as a float (the first token, so "123 J" works); SensorError if not."""
    try:
        text = path.read_text(encoding="ascii").split()
        return float(text[0])
    except (OSError, ValueError, IndexError) as e:
        hint = " (needs read permission: run as root or chmod it)" if isinstance(e, PermissionError) else ""
        raise SensorError(f"{what}: cannot read {path}{hint}: {e}") from e
