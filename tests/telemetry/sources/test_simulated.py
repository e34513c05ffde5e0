"""The modelled node: phases drive power; a LUMI node lists 8 GCDs and counts 4 packages."""

import pytest

from olmo_green.hardware.profiles import load_profile
from olmo_green.telemetry.sources.simulated import PHASE_UTILISATION, SimulatedSource


def test_lumi_lists_eight_gcds_counts_four_packages():
    source = SimulatedSource(load_profile("lumi"))
    devices = source.open()
    assert len(devices) == 8 and sum(d.counted for d in devices) == 4
    assert {d.method for d in devices} == {"modelled"}
    assert [r.device for r in source.read(0.0)] == ["0", "2", "4", "6"]


def test_power_follows_phases_between_idle_and_tdp():
    profile = load_profile("lumi")
    source = SimulatedSource(profile, start_s=0.0)
    source.set_phase("train", 0.0)
    busy = source.read(1.0)[0]
    source.set_phase("data_wait", 1.0)
    waiting = source.read(2.0)[0]
    assert profile.package_idle_w < waiting.power_w < busy.power_w < profile.package_tdp_w
    assert source.power_w("idle") == profile.package_idle_w


def test_energy_counter_is_the_exact_integral_of_the_model():
    source = SimulatedSource(load_profile("mosaicml-a100"), start_s=0.0)
    source.set_phase("train", 0.0)
    source.set_phase("eval", 2.0)
    energy_j = source.read(3.0)[0].energy_j
    expected = 2.0 * source.power_w("train") + 1.0 * source.power_w("eval")
    assert energy_j == pytest.approx(expected)
    assert set(PHASE_UTILISATION) >= {"train", "eval", "data_wait", "checkpoint", "idle"}
