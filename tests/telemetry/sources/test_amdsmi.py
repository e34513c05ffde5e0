"""amdsmi against a fake module with the library's documented functions (MI250X values)."""

import importlib
import sys

import pytest

from olmo_green.errors import SensorError
from olmo_green.telemetry.sources.amdsmi import AmdSmiSource, import_amdsmi
from tests.telemetry.sources import fake_amdsmi


@pytest.fixture
def smi(monkeypatch):
    fake_amdsmi.NODE = fake_amdsmi.Node()
    monkeypatch.setitem(sys.modules, "amdsmi", fake_amdsmi)
    monkeypatch.delenv("HIP_VISIBLE_DEVICES", raising=False)
    return fake_amdsmi.NODE


def test_mi250x_package_is_counted_once(smi):
    source = AmdSmiSource()
    devices = source.open()
    assert len(devices) == 8
    assert [d.device for d in devices if d.counted] == ["0", "2", "4", "6"]
    readings = source.read(100.0)
    assert [r.device for r in readings] == ["0", "2", "4", "6"]
    assert sum(r.power_w for r in readings) == 4 * 300


def test_energy_is_accumulator_times_resolution_in_microjoules(smi):
    reading = AmdSmiSource().read(1.0)[0]
    assert reading.energy_j == pytest.approx(10_000_000 * fake_amdsmi.RESOLUTION_UJ * 1e-6)
    assert reading.source == "amdsmi" and reading.domain == "gpu"


def test_old_api_key_power_still_read(smi):
    smi.old_api = True
    assert AmdSmiSource().read(1.0)[0].energy_j == pytest.approx(153.0)


def test_read_fault_becomes_sensor_error(smi):
    source = AmdSmiSource()
    source.open()
    smi.gcds[0].failing = True
    with pytest.raises(SensorError, match="read failed") as info:
        source.read(1.0)
    assert isinstance(info.value.__cause__, fake_amdsmi.AmdSmiException)


def test_hip_visible_devices_limits_devices(smi, monkeypatch):
    monkeypatch.setenv("HIP_VISIBLE_DEVICES", "2,3")
    assert [d.device for d in AmdSmiSource().open()] == ["2", "3"]


def test_import_without_library_is_silent_and_says_what_to_install(monkeypatch, capsys):
    def broken_import(name):
        print("libamd_smi.so not found")  # what the real module does before its KeyError
        raise KeyError("ROCM_PATH")

    monkeypatch.setattr(importlib, "import_module", broken_import)
    with pytest.raises(SensorError, match="install the amdsmi"):
        import_amdsmi()
    assert capsys.readouterr().out == ""
