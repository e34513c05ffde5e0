"""A modelled node: the hardware profile's devices driven by the trainer's phases.

Power per package = idle + (TDP - idle) x utilisation of the current phase
(busy in steps, lower in eval, data waits and checkpoints, idle otherwise).
Readings are tagged `simulated`, which integrate.py reports as `modelled`.

Packages, not devices, draw power: a simulated LUMI node lists 8 GCDs, but,
like a real MI250X, only the primary GCD of each package reports (the
package's power and energy) and the secondary is listed as not counted. So a
simulated node is accounted exactly as a real one would be.

Each package also carries an exact energy counter (the integral of the
modelled power), so windows get the model's energy, not a polling estimate.
Its power reading is that counter's derivative as a real sensor gives it: the
mean power since the previous reading (H100/MI200 parts report averaged power,
not the value at the instant). Reporting the phase's power at the instant of
the read instead made polled power miss each phase change by up to a sampling
interval, 6-18 % of a short run (cross-checked in olmo_green/crosscheck).
"""

from __future__ import annotations

from olmo_green.hardware.profiles import HardwareProfile
from olmo_green.telemetry.sources.base import DeviceInfo, Reading, Source

# Fraction of (TDP - idle) drawn in each phase: assumptions of the model, stated here.
PHASE_UTILISATION = {"train": 0.9, "eval": 0.6, "data_wait": 0.3, "checkpoint": 0.2, "idle": 0.0}


class SimulatedSource(Source):
    name = "simulated"

    def __init__(self, profile: HardwareProfile, start_s: float | None = None) -> None:
        super().__init__()
        self.profile = profile
        self._phase = "idle"
        self._last_s = start_s
        self._energy_j = [0.0] * profile.packages_per_node
        self._read_at: tuple[float, float] | None = None  # (time, counter) of the previous reading

    def _open(self) -> list[DeviceInfo]:
        per = self.profile.devices_per_package
        infos = []
        for device in range(self.profile.devices_per_node):
            primary = device % per == 0
            note = "" if primary else f"counted in package of device {device - device % per}"
            infos.append(DeviceInfo(str(device), "gpu", self.profile.accelerator, "modelled",
                                    counted=primary, note=note))
        return infos

    def power_w(self, phase: str) -> float:
        """Modelled power of one package in `phase`."""
        p = self.profile
        return p.package_idle_w + (p.package_tdp_w - p.package_idle_w) * PHASE_UTILISATION.get(phase, 0.0)

    def _advance(self, time_s: float) -> None:
        if self._last_s is not None and time_s > self._last_s:
            step_j = self.power_w(self._phase) * (time_s - self._last_s)
            self._energy_j = [e + step_j for e in self._energy_j]
        if self._last_s is None or time_s > self._last_s:
            self._last_s = time_s

    def set_phase(self, phase: str, time_s: float) -> None:
        with self._lock:
            self._advance(time_s)
            self._phase = phase

    def _read(self, time_s: float) -> list[Reading]:
        # Two threads read (the sampler, and the meter at step boundaries), each stamping its time
        # before taking the lock: the later stamp can arrive first. A modelled counter must not run
        # backwards, so a late-arriving stamp is read just after the previous one (microseconds).
        if self._last_s is not None and time_s < self._last_s:
            time_s = self._last_s  # a phase change already moved the counter past this stamp
        if self._read_at is not None and time_s <= self._read_at[0]:
            time_s = self._read_at[0] + 1e-6
        self._advance(time_s)
        power_w = self._mean_power_w(time_s)
        per = self.profile.devices_per_package
        return [Reading(time_s, str(k * per), "gpu", power_w, energy_j, self.name)
                for k, energy_j in enumerate(self._energy_j)]

    def _mean_power_w(self, time_s: float) -> float:
        """Mean power since the previous reading (the counter's derivative); the phase's power for
        the first reading, or a reading at the same instant."""
        energy_j = self._energy_j[0] if self._energy_j else 0.0
        previous, self._read_at = self._read_at, (time_s, energy_j)
        if previous is None or time_s <= previous[0]:
            return self.power_w(self._phase)
        return (energy_j - previous[1]) / (time_s - previous[0])
