"""`olmo-green sensors`: devices and methods, or one clear line and a non-zero exit."""

from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.telemetry.sources import detect
from olmo_green.telemetry.sources.hwmon import HwmonSource
from olmo_green.telemetry.sources.rapl import RaplSource
from tests.telemetry.sources.sysfs import drm_tree


def _only_sysfs(monkeypatch, drm_root, powercap_root):
    monkeypatch.setitem(detect.REAL_SOURCES, "hwmon", lambda: HwmonSource(drm_root))
    monkeypatch.setitem(detect.REAL_SOURCES, "rapl", lambda: RaplSource(powercap_root))
    monkeypatch.setitem(detect.REAL_SOURCES, "nvml", lambda: HwmonSource(powercap_root))
    monkeypatch.setitem(detect.REAL_SOURCES, "amdsmi", lambda: HwmonSource(powercap_root))


def test_nothing_found_is_one_line_and_exit_2(tmp_path, monkeypatch):
    _only_sysfs(monkeypatch, tmp_path, tmp_path)
    result = CliRunner().invoke(cli, ["sensors", "--probe-seconds", "0.01"])
    assert result.exit_code == 2
    assert "olmo-green: error: no energy sensor found" in result.output
    assert "--simulate" in result.output and "Traceback" not in result.output


def test_found_devices_with_method_and_interval(tmp_path, monkeypatch):
    _only_sysfs(monkeypatch, drm_tree(tmp_path / "drm", gcds=2), tmp_path)
    result = CliRunner().invoke(cli, ["sensors", "--probe-seconds", "0.05"])
    assert result.exit_code == 0, result.output
    assert "hwmon: found" in result.output and "update interval" in result.output
    assert "card0" in result.output and "counter" in result.output
    assert "card1" in result.output and "[not counted]" in result.output


def test_simulated_lumi_lists_eight_gcds():
    args = ["sensors", "--hardware", "lumi", "--simulate", "--probe-seconds", "0.01"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0
    assert result.output.count("gpu   modelled") == 8 and result.output.count("[not counted]") == 4
