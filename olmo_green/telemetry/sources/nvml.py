"""NVIDIA GPUs through nvidia-ml-py (the `pynvml` module).

The total-energy counter (mJ since the driver loaded; Volta and newer) is the
measurement; polled power (mW) is recorded beside it as the curve. NVML's
indexes ignore CUDA_VISIBLE_DEVICES, so devices are matched by UUID and
labelled with the CUDA ordinal the job sees.
"""

from __future__ import annotations

import importlib
import os

from olmo_green.errors import SensorError
from olmo_green.telemetry.sources.base import DeviceInfo, Reading, Source

MJ_PER_J = 1000.0
MW_PER_W = 1000.0


def visible_indexes(uuids: list[str], cuda_visible: str | None) -> list[int]:
    """NVML indexes of the devices CUDA sees, in CUDA's order (all when unset)."""
    if cuda_visible is None or not cuda_visible.strip():
        return list(range(len(uuids)))
    chosen = []
    for entry in (e.strip() for e in cuda_visible.split(",")):
        if entry.isdigit():
            index = int(entry)
            if index >= len(uuids):
                break  # CUDA stops at the first invalid entry
            chosen.append(index)
            continue
        matches = [i for i, u in enumerate(uuids) if u.startswith(entry) or u == f"GPU-{entry}"]
        if len(matches) != 1:
            break
        chosen.append(matches[0])
    return chosen


class NvmlSource(Source):
    name = "nvml"

    def __init__(self) -> None:
        super().__init__()
        self._nvml = None
        self._handles: list[tuple[str, object, bool]] = []  # (label, handle, has counter)

    def _open(self) -> list[DeviceInfo]:
        try:
            nvml = importlib.import_module("pynvml")
        except ImportError as e:
            raise SensorError("nvml: the pynvml module is missing (pip install nvidia-ml-py)") from e
        try:
            nvml.nvmlInit()
            handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]
            uuids = [_text(nvml.nvmlDeviceGetUUID(h)) for h in handles]
            names = [_text(nvml.nvmlDeviceGetName(h)) for h in handles]
        except nvml.NVMLError as e:
            raise SensorError(f"nvml: cannot initialise NVML ({e}); is an NVIDIA driver loaded?") from e
        self._nvml = nvml
        chosen = visible_indexes(uuids, os.environ.get("CUDA_VISIBLE_DEVICES"))
        if not chosen:
            raise SensorError("nvml: no NVIDIA GPU visible (check CUDA_VISIBLE_DEVICES)")
        infos = []
        for cuda_index, nvml_index in enumerate(chosen):
            handle = handles[nvml_index]
            counter = self._has_counter(handle)
            self._handles.append((str(cuda_index), handle, counter))
            infos.append(DeviceInfo(
                device=str(cuda_index), domain="gpu", name=names[nvml_index],
                method="counter" if counter else "power_integration",
                note=f"{uuids[nvml_index]} (NVML index {nvml_index})",
            ))
        return infos

    def _has_counter(self, handle: object) -> bool:
        try:
            self._nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
            return True
        except self._nvml.NVMLError:
            return False  # pre-Volta: polled power only

    def _read(self, time_s: float) -> list[Reading]:
        nvml = self._nvml
        readings = []
        try:
            for label, handle, counter in self._handles:
                power_w = nvml.nvmlDeviceGetPowerUsage(handle) / MW_PER_W
                energy_j = nvml.nvmlDeviceGetTotalEnergyConsumption(handle) / MJ_PER_J if counter \
                    else float("nan")
                readings.append(Reading(time_s, label, "gpu", power_w, energy_j, self.name))
        except nvml.NVMLError as e:
            raise SensorError(f"nvml: read failed ({e})") from e
        return readings

    def close(self) -> None:
        nvml, self._nvml = self._nvml, None
        if nvml is not None:
            try:
                nvml.nvmlShutdown()
            except nvml.NVMLError:
                pass  # already shut down: nothing to release


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
