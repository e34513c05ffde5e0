"""A stand-in for ROCm's `amdsmi` Python module on a machine without ROCm.

Functions carry the documented names and arguments of amdsmi's Python
interface; values are those of an MI250X node (LUMI-G): 8 GCDs, where the
primary GCD of each package reports the package's socket power and energy and
the secondary reports "N/A" power and a zero accumulator. The energy
accumulator counts in units of `counter_resolution` microjoules.
"""

from __future__ import annotations

RESOLUTION_UJ = 15.3  # a typical MI200 counter resolution


class AmdSmiException(Exception):
    pass


class AmdSmiLibraryException(AmdSmiException):
    def __init__(self, err_code: int) -> None:
        super().__init__(f"amdsmi error {err_code}")
        self.err_code = err_code


class _Gcd:
    def __init__(self, index: int, primary: bool) -> None:
        self.index, self.primary = index, primary
        self.accumulator = 10_000_000 * (index + 1) if primary else 0
        self.power_w = 300 if primary else "N/A"
        self.failing = False


class Node:
    """The fake machine: tests change its state between reads."""

    def __init__(self, packages: int = 4, gcds_per_package: int = 2, old_api: bool = False) -> None:
        self.gcds = [_Gcd(i, i % gcds_per_package == 0) for i in range(packages * gcds_per_package)]
        self.old_api = old_api  # before ROCm 6.2.1 the accumulator was returned as "power"
        self.initialised = False


NODE = Node()


def amdsmi_init(flag: int = 0) -> None:
    NODE.initialised = True


def amdsmi_shut_down() -> None:
    NODE.initialised = False


def amdsmi_get_processor_handles() -> list:
    if not NODE.initialised:
        raise AmdSmiLibraryException(32)
    return list(NODE.gcds)


def amdsmi_get_gpu_device_bdf(processor_handle) -> str:
    return f"0000:{0xc1 + processor_handle.index:02x}:00.0"


def amdsmi_get_gpu_enumeration_info(processor_handle) -> dict:
    return {"drm_card": processor_handle.index, "hip_id": processor_handle.index, "hsa_id": 0}


def amdsmi_get_power_info(processor_handle) -> dict:
    if processor_handle.failing:
        raise AmdSmiLibraryException(2)
    return {"average_socket_power": processor_handle.power_w, "current_socket_power": "N/A",
            "gfx_voltage": 800, "soc_voltage": 900, "mem_voltage": 1200, "power_limit": 560}


def amdsmi_get_energy_count(processor_handle) -> dict:
    if processor_handle.failing:
        raise AmdSmiLibraryException(2)
    key = "power" if NODE.old_api else "energy_accumulator"
    return {key: processor_handle.accumulator, "counter_resolution": RESOLUTION_UJ,
            "timestamp": 1_700_000_000_000_000_000}
