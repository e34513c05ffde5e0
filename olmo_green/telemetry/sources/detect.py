"""Auto-detection: try each source the hardware profile names, say what was found and why not.

The accelerator domain is taken from the first source that has it (amdsmi,
hwmon and a Cray node's accelN counters all see the same GPUs); later sources
only add domains not yet covered (node, cpu, dram), so nothing is counted twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from olmo_green.errors import SensorError
from olmo_green.hardware.profiles import HardwareProfile
from olmo_green.telemetry.sources.amdsmi import AmdSmiSource
from olmo_green.telemetry.sources.base import DeviceInfo, Source
from olmo_green.telemetry.sources.cray_pm import CrayPmSource
from olmo_green.telemetry.sources.hwmon import HwmonSource
from olmo_green.telemetry.sources.nvml import NvmlSource
from olmo_green.telemetry.sources.rapl import RaplSource
from olmo_green.telemetry.sources.replay import ReplaySource
from olmo_green.telemetry.sources.simulated import SimulatedSource

REAL_SOURCES: dict[str, type[Source]] = {
    "nvml": NvmlSource, "amdsmi": AmdSmiSource, "hwmon": HwmonSource,
    "cray_pm": CrayPmSource, "rapl": RaplSource,
}
SYSFS_SOURCES = {"hwmon", "cray_pm", "rapl"}


@dataclass
class Probe:
    """The outcome of trying one source."""

    name: str
    source: Source | None = None
    devices: list[DeviceInfo] = field(default_factory=list)
    reason: str = ""  # why it is not used, or which domains it was limited to


def _make(name: str, roots: dict[str, Path]) -> Source:
    kind = REAL_SOURCES[name]
    return kind(roots[name]) if name in roots and name in SYSFS_SOURCES else kind()


def detect(names: list[str] | tuple[str, ...], roots: dict[str, Path] | None = None) -> list[Probe]:
    """Try each named source in order; roots override sysfs paths (tests, containers)."""
    probes, covered = [], set()
    for name in names:
        if name not in REAL_SOURCES:
            probes.append(Probe(name, reason=f"unknown source; known: {', '.join(REAL_SOURCES)}"))
            continue
        source = _make(name, roots or {})
        try:
            devices = source.open()
        except SensorError as e:
            probes.append(Probe(name, reason=str(e)))
            continue
        domains = {d.domain for d in devices} - covered
        if not domains:
            source.close()
            probes.append(Probe(name, devices=devices, reason="an earlier source measures its domains"))
            continue
        source.domains = domains
        covered |= domains
        probes.append(Probe(name, source, source.devices(), reason=f"domains: {', '.join(sorted(domains))}"))
    return probes


def open_sources(profile: HardwareProfile, simulate: bool = False, trace: str | Path | None = None,
                 roots: dict[str, Path] | None = None) -> tuple[list[Source], list[Probe]]:
    """The sources to sample for `profile`: modelled, replayed, or the detected real ones."""
    if simulate:
        source = SimulatedSource(profile)
        return [source], [Probe("simulated", source, source.open(), "modelled from the profile")]
    if trace is not None:
        source = ReplaySource(trace)
        return [source], [Probe("replay", source, source.open(), f"trace {trace}")]
    probes = detect(profile.sensors, roots)
    return [p.source for p in probes if p.source is not None], probes


def measure_update_interval_s(source: Source, duration_s: float = 1.0, poll_s: float = 0.002) -> float | None:
    """Median time between changes of the source's readings, polled fast; None if under two changes."""
    change_times, last, start = [], None, time.monotonic()
    while time.monotonic() - start < duration_s:
        values = tuple((r.power_w, r.energy_j) for r in source.read(time.time()))
        if last is not None and values != last:
            change_times.append(time.monotonic())
        last = values
        time.sleep(poll_s)
    intervals = sorted(b - a for a, b in zip(change_times, change_times[1:], strict=False))
    return intervals[len(intervals) // 2] if intervals else None
