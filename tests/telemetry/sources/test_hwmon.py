"""amdgpu hwmon against a temporary /sys/class/drm tree."""

import math

import pytest

from olmo_green.errors import SensorError
from olmo_green.telemetry.sources.hwmon import HwmonSource
from tests.telemetry.sources.sysfs import drm_tree, write


def test_microwatts_and_microjoules_to_si(tmp_path):
    source = HwmonSource(drm_tree(tmp_path))
    readings = source.read(1.0)
    assert [r.device for r in readings] == ["card0"]
    assert readings[0].power_w == pytest.approx(312.0)
    assert readings[0].energy_j == pytest.approx(5000.0)


def test_secondary_gcd_is_listed_but_not_counted(tmp_path):
    devices = HwmonSource(drm_tree(tmp_path, gcds=4)).open()
    assert [(d.device, d.counted) for d in devices] == [
        ("card0", True), ("card1", False), ("card2", True), ("card3", False)]


def test_power_only_without_energy_file(tmp_path):
    source = HwmonSource(drm_tree(tmp_path, energy=False))
    assert source.open()[0].method == "power_integration"
    assert math.isnan(source.read(1.0)[0].energy_j)


def test_no_amdgpu_says_where_it_looked(tmp_path):
    write(tmp_path, "card0/device/hwmon/hwmon0/name", "nouveau")
    with pytest.raises(SensorError, match="no amdgpu"):
        HwmonSource(tmp_path).open()


def test_vanished_file_is_sensor_error(tmp_path):
    source = HwmonSource(drm_tree(tmp_path))
    source.open()
    (tmp_path / "card0/device/hwmon/hwmon3/power1_average").unlink()
    with pytest.raises(SensorError, match="cannot read"):
        source.read(1.0)
