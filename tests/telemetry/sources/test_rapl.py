"""powercap RAPL against a temporary /sys/class/powercap tree: units, domains, wrap."""

from pathlib import Path

import numpy as np
import pytest

from olmo_green.errors import SensorError
from olmo_green.integrate import counter_deltas_j
from olmo_green.telemetry.sources.rapl import RaplSource
from tests.telemetry.sources.sysfs import powercap_tree, write


def test_package_and_dram_counted_core_skipped(tmp_path):
    readings = RaplSource(powercap_tree(tmp_path)).read(1.0)
    assert [(r.device, r.domain) for r in readings] == [("package-0", "cpu"), ("dram-0", "dram")]
    assert readings[0].energy_j == pytest.approx(1.0)


def test_wrap_at_max_energy_range_is_unwrapped(tmp_path):
    root = powercap_tree(tmp_path, range_uj=10_000_000)
    source = RaplSource(root)
    energies = []
    for raw in (9_000_000, 9_900_000, 400_000, 2_000_000):  # wraps between the 2nd and 3rd read
        write(root, "intel-rapl:0/energy_uj", raw)
        energies.append(source.read(0.0)[0].energy_j)
    deltas, resets = counter_deltas_j(np.array(energies))
    assert resets == 0
    assert deltas == pytest.approx([0.9, 0.5, 1.6])


def test_unreadable_counter_says_permission(tmp_path, monkeypatch):
    root = powercap_tree(tmp_path)
    real = Path.read_text

    def denied(path, *args, **kwargs):
        if path.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", denied)  # energy_uj is root-only on recent kernels
    with pytest.raises(SensorError, match="permission"):
        RaplSource(root).open()


def test_no_zone(tmp_path):
    with pytest.raises(SensorError, match="no powercap package zone"):
        RaplSource(tmp_path).open()
