"""Cray pm_counters against a temporary /sys/cray/pm_counters tree."""

import pytest

from olmo_green.errors import SensorError
from olmo_green.telemetry.sources import cray_pm
from olmo_green.telemetry.sources.cray_pm import CrayPmSource
from tests.telemetry.sources.sysfs import cray_tree, write


def test_node_cpu_memory_and_accelerators_in_joules(tmp_path):
    readings = {r.device: r for r in CrayPmSource(cray_tree(tmp_path)).read(1.0)}
    assert set(readings) == {"node", "cpu", "memory", "accel0", "accel1", "accel2", "accel3"}
    assert readings["node"].domain == "node" and readings["node"].energy_j == 8345671
    assert readings["memory"].domain == "dram" and readings["accel2"].domain == "gpu"
    assert readings["accel2"].energy_j == 1_000_002 and readings["accel2"].power_w == 450
    assert readings["node"].power_w == 2231


def test_read_retried_until_freshness_is_stable(tmp_path, monkeypatch):
    source = CrayPmSource(cray_tree(tmp_path))
    source.open()
    values = iter([1, 2, 2, 2])  # changed during the first read, stable on the second
    real = cray_pm.read_number
    monkeypatch.setattr(cray_pm, "read_number",
                        lambda path, what: next(values) if path.name == "freshness" else real(path, what))
    assert len(source.read(1.0)) == 7


def test_not_a_cray_node(tmp_path):
    write(tmp_path, "energy", "1 J")
    with pytest.raises(SensorError, match="not an HPE Cray EX node"):
        CrayPmSource(tmp_path).open()
