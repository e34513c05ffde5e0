"""Detection tries the profile's sources in order, says why not, and never counts a domain twice."""

import sys

from olmo_green.hardware.profiles import load_profile
from olmo_green.telemetry.sources.detect import detect, measure_update_interval_s, open_sources
from olmo_green.telemetry.sources.simulated import SimulatedSource
from tests.telemetry.sources import fake_amdsmi
from tests.telemetry.sources.sysfs import cray_tree, drm_tree


def test_lumi_node_gpus_from_amdsmi_node_from_cray(tmp_path, monkeypatch):
    fake_amdsmi.NODE = fake_amdsmi.Node()
    monkeypatch.setitem(sys.modules, "amdsmi", fake_amdsmi)
    roots = {"hwmon": drm_tree(tmp_path / "drm"), "cray_pm": cray_tree(tmp_path / "cray")}
    probes = {p.name: p for p in detect(["amdsmi", "hwmon", "cray_pm"], roots)}
    assert probes["amdsmi"].source is not None
    assert probes["hwmon"].source is None and "earlier source" in probes["hwmon"].reason
    cray = probes["cray_pm"].source
    assert {r.domain for r in cray.read(1.0)} == {"node", "cpu", "dram"}  # accelN: already counted


def test_missing_sources_say_why(tmp_path):
    probes = detect(["hwmon", "cray_pm", "rapl", "nosuch"],
                    {"hwmon": tmp_path, "cray_pm": tmp_path, "rapl": tmp_path})
    assert all(p.source is None and p.reason for p in probes)
    assert "unknown source" in probes[-1].reason


def test_simulate_opens_the_profiles_model():
    sources, probes = open_sources(load_profile("lumi"), simulate=True)
    assert isinstance(sources[0], SimulatedSource) and len(probes[0].devices) == 8


def test_update_interval_measured_from_changes(tmp_path):
    source = SimulatedSource(load_profile("h100"))
    source.set_phase("train", 0.0)
    interval_s = measure_update_interval_s(source, duration_s=0.1, poll_s=0.01)
    assert interval_s is not None and 0.005 < interval_s < 0.05
