"""NVML against the installed pynvml module, its functions patched with autospec."""

from unittest import mock

import pynvml
import pytest

from olmo_green.errors import SensorError
from olmo_green.telemetry.sources.nvml import NvmlSource, visible_indexes

UUIDS = ["GPU-aaaa-0000", "GPU-bbbb-1111", "GPU-cccc-2222"]


@pytest.fixture
def nvml(monkeypatch):
    """Three A100s: 250 W each, energy counters in mJ since the driver loaded."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    state = {"power_mw": [250_000, 251_000, 252_000], "energy_mj": [9_000_000, 8_000_000, 7_000_000],
             "counter": True}

    def energy(handle):
        if not state["counter"]:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return state["energy_mj"][handle]

    patches = {
        "nvmlInit": None, "nvmlShutdown": None,
        "nvmlDeviceGetCount": lambda: 3,
        "nvmlDeviceGetHandleByIndex": lambda index: index,
        "nvmlDeviceGetUUID": lambda handle: UUIDS[handle],
        "nvmlDeviceGetName": lambda handle: "NVIDIA A100-SXM4-40GB",
        "nvmlDeviceGetPowerUsage": lambda handle: state["power_mw"][handle],
        "nvmlDeviceGetTotalEnergyConsumption": energy,
    }
    with mock.patch.multiple(pynvml, **{name: mock.DEFAULT for name in patches}, autospec=True) as mocks:
        for name, effect in patches.items():
            mocks[name].side_effect = effect
        yield state, mocks


def test_counter_in_joules_and_power_in_watts(nvml):
    readings = NvmlSource().read(5.0)
    assert [r.device for r in readings] == ["0", "1", "2"]
    assert readings[0].energy_j == 9000.0 and readings[0].power_w == 250.0
    assert readings[0].time_s == 5.0 and readings[0].source == "nvml"


def test_without_counter_power_only(nvml):
    nvml[0]["counter"] = False
    source = NvmlSource()
    assert {d.method for d in source.open()} == {"power_integration"}
    assert all(r.energy_j != r.energy_j for r in source.read(1.0))  # nan


def test_cuda_visible_devices_maps_by_uuid(nvml, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-cccc,1")
    devices = NvmlSource().open()
    assert [d.device for d in devices] == ["0", "1"]  # CUDA ordinals the job sees
    assert "GPU-cccc-2222" in devices[0].note and "GPU-bbbb-1111" in devices[1].note


def test_visible_indexes_stop_at_invalid_entry():
    assert visible_indexes(UUIDS, "2,7,0") == [2]
    assert visible_indexes(UUIDS, None) == [0, 1, 2]


def test_init_failure_is_sensor_error(nvml):
    nvml[1]["nvmlInit"].side_effect = pynvml.NVMLError(pynvml.NVML_ERROR_DRIVER_NOT_LOADED)
    with pytest.raises(SensorError, match="driver") as info:
        NvmlSource().open()
    assert isinstance(info.value.__cause__, pynvml.NVMLError)


def test_read_failure_is_sensor_error(nvml):
    source = NvmlSource()
    source.open()
    nvml[1]["nvmlDeviceGetPowerUsage"].side_effect = pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)
    with pytest.raises(SensorError, match="read failed"):
        source.read(1.0)


def test_close_is_idempotent(nvml):
    source = NvmlSource()
    source.open()
    source.close()
    source.close()
    assert nvml[1]["nvmlShutdown"].call_count == 1
