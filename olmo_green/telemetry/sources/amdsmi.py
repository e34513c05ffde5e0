"""AMD GPUs through ROCm's amdsmi library.

Energy = energy_accumulator x counter_resolution (µJ); power is
`average_socket_power` (W) on MI200 parts. An MI250X is one package with two
GCDs seen as two devices: the primary GCD reports the whole package and the
secondary reports 0 or "N/A", so the secondary is listed but not counted.

Without libamd_smi.so, `import amdsmi` prints to stdout and raises KeyError
(not ImportError): the import below silences it and says what to install.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os

from olmo_green.errors import SensorError
from olmo_green.telemetry.sources.base import DeviceInfo, Reading, Source

UJ_PER_J = 1e6


def import_amdsmi():
    """The amdsmi module, or SensorError saying why it cannot be used."""
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            return importlib.import_module("amdsmi")
        except (ImportError, KeyError, OSError) as e:
            raise SensorError(
                "amdsmi: the ROCm amdsmi library is not usable here "
                f"({type(e).__name__}: {e}); install the amdsmi matching the ROCm driver"
            ) from e


def _number(value: object) -> float | None:
    """A reported value as a float; None for "N/A" and other non-numbers."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class AmdSmiSource(Source):
    name = "amdsmi"

    def __init__(self) -> None:
        super().__init__()
        self._smi = None
        self._counted: list[tuple[str, object]] = []

    def _open(self) -> list[DeviceInfo]:
        smi = import_amdsmi()
        try:
            smi.amdsmi_init()
            handles = smi.amdsmi_get_processor_handles()
            labelled = [(str(_hip_id(smi, h, i)), h) for i, h in enumerate(handles)]
            infos = [_describe(smi, label, h) for label, h in labelled]
        except smi.AmdSmiException as e:
            raise SensorError(f"amdsmi: cannot initialise ({e}); is the amdgpu driver loaded?") from e
        self._smi = smi
        infos = _visible(infos, os.environ.get("HIP_VISIBLE_DEVICES"))
        if not infos:
            raise SensorError("amdsmi: no AMD GPU found (check HIP_VISIBLE_DEVICES)")
        labels = {info.device for info in infos if info.counted}
        self._counted = [(label, h) for label, h in labelled if label in labels]
        return infos

    def _read(self, time_s: float) -> list[Reading]:
        smi = self._smi
        readings = []
        try:
            for label, handle in self._counted:
                count = smi.amdsmi_get_energy_count(handle)
                # ROCm 6.2.1 renamed "power" (which held the accumulator) to "energy_accumulator".
                accumulator = count.get("energy_accumulator", count.get("power"))
                energy_j = float(accumulator) * float(count["counter_resolution"]) / UJ_PER_J
                power_w = _number(smi.amdsmi_get_power_info(handle).get("average_socket_power"))
                readings.append(Reading(time_s, label, "gpu", power_w if power_w is not None
                                        else float("nan"), energy_j, self.name))
        except (smi.AmdSmiException, KeyError, TypeError, ValueError) as e:
            raise SensorError(f"amdsmi: read failed ({e})") from e
        return readings

    def close(self) -> None:
        smi, self._smi = self._smi, None
        if smi is not None:
            try:
                smi.amdsmi_shut_down()
            except smi.AmdSmiException:
                pass  # already shut down


def _describe(smi, label: str, handle: object) -> DeviceInfo:
    power_w = _number(smi.amdsmi_get_power_info(handle).get("average_socket_power"))
    if not power_w:  # 0 or N/A: an MI250X secondary GCD, counted in its package
        return DeviceInfo(label, "gpu", "AMD GPU", "counter", counted=False,
                          note="secondary GCD: its package is counted on the primary GCD")
    bdf = smi.amdsmi_get_gpu_device_bdf(handle)
    return DeviceInfo(label, "gpu", "AMD GPU", "counter", note=f"PCI {bdf}")


def _hip_id(smi, handle: object, index: int) -> int:
    """HIP's ordinal (amd-smi orders by PCI address, HIP may not); the index when unknown."""
    enumeration = getattr(smi, "amdsmi_get_gpu_enumeration_info", None)
    if enumeration is None:
        return index
    try:
        return int(enumeration(handle)["hip_id"])
    except (smi.AmdSmiException, KeyError, TypeError, ValueError):
        return index


def _visible(infos: list[DeviceInfo], hip_visible: str | None) -> list[DeviceInfo]:
    if not hip_visible or not hip_visible.strip():
        return infos
    wanted = [e.strip() for e in hip_visible.split(",")]
    return [i for i in infos if i.device in wanted]
