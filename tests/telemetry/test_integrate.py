"""The measurement method: counters, resets, wraps, power integration, gaps, windows."""

import numpy as np
import pandas as pd
import pytest

from olmo_green.integrate import counter_deltas_j, curve_from_samples, curves_from_samples


def _samples(time_s, power_w=None, energy_j=None, source="nvml", device="0"):
    n = len(time_s)
    return pd.DataFrame({
        "time_s": time_s, "node": "n0", "device": device, "domain": "gpu",
        "power_w": power_w if power_w is not None else [np.nan] * n,
        "energy_j": energy_j if energy_j is not None else [np.nan] * n, "source": source,
    })


def test_counter_reset_is_not_negative_and_keeps_energy_before_it():
    deltas, resets = counter_deltas_j(np.array([100.0, 150.0, 200.0, 30.0, 80.0]))
    assert resets == 1
    assert deltas.tolist() == [50.0, 50.0, 30.0, 50.0]


def test_counter_wrap_uses_the_range():
    deltas, resets = counter_deltas_j(np.array([90.0, 98.0, 3.0]), wrap_j=100.0)
    assert resets == 0 and deltas.tolist() == [8.0, 5.0]


def test_constant_power_integrates_exactly():
    t = np.arange(0, 10.01, 0.1)
    curve = curve_from_samples(_samples(t, power_w=np.full(len(t), 300.0)))
    assert curve.method == "power_integration"
    assert curve.total_j == pytest.approx(3000.0)


def test_counter_preferred_over_power_when_present():
    t = np.arange(0, 5.0, 1.0)
    curve = curve_from_samples(_samples(t, power_w=[1.0] * 5, energy_j=[0, 10, 20, 30, 40]))
    assert curve.method == "counter" and curve.total_j == 40


def test_power_gap_is_not_invented_but_bounded():
    t = np.array([0.0, 1.0, 2.0, 3.0, 20.0, 21.0, 22.0])
    curve = curve_from_samples(_samples(t, power_w=[100.0] * 7))
    assert curve.gaps == 1 and curve.gap_s == pytest.approx(17.0)
    assert curve.total_j == pytest.approx(500.0)  # 5 one-second intervals, gap excluded
    assert curve.gap_upper_j == pytest.approx(1700.0)


def test_counter_gap_still_counts_its_measured_delta():
    t = np.array([0.0, 1.0, 2.0, 30.0])
    curve = curve_from_samples(_samples(t, energy_j=[0.0, 10.0, 20.0, 300.0]))
    assert curve.gaps == 1 and curve.total_j == 300.0


def test_energy_between_windows_adds_up_to_total():
    t = np.linspace(0, 100, 1001)
    power = 200 + 100 * np.sin(t)
    curve = curve_from_samples(_samples(t, power_w=power))
    edges = np.array([0.0, 13.3, 40.0, 77.7, 100.0])
    parts = curve.energy_between_j(edges[:-1], edges[1:])
    assert parts.sum() == pytest.approx(curve.total_j, rel=1e-12)


def test_simulated_and_replayed_sources_say_so():
    t = np.arange(0.0, 3.0)
    assert curve_from_samples(_samples(t, power_w=[1.0] * 3, source="simulated")).method == "modelled"
    assert curve_from_samples(_samples(t, power_w=[1.0] * 3, source="replay")).method == "replayed"


def test_curves_split_by_device():
    t = np.arange(0.0, 3.0)
    frame = pd.concat([_samples(t, power_w=[1.0] * 3, device="0"),
                       _samples(t, power_w=[2.0] * 3, device="1")])
    curves = curves_from_samples(frame)
    assert [c.device for c in curves] == ["0", "1"]
    assert [c.total_j for c in curves] == [2.0, 4.0]


def test_curves_of_unsorted_samples_match_sorted_ones():
    t = np.arange(0.0, 5.0)
    frame = pd.concat([_samples(t, power_w=[1.0] * 5, device="1"),
                       _samples(t, power_w=[2.0] * 5, device="0")])
    shuffled = frame.sample(frac=1.0, random_state=0)
    assert [(c.device, c.total_j) for c in curves_from_samples(shuffled)] == [("0", 8.0), ("1", 4.0)]


def test_categorical_columns_give_only_the_devices_present():
    t = np.arange(0.0, 3.0)
    frame = pd.concat([_samples(t, power_w=[1.0] * 3, device="0"),
                       _samples(t, power_w=[1.0] * 3, device="1")])
    frame.loc[frame["device"] == "1", "node"] = "n1"
    frame = frame.astype({"node": "category", "device": "category", "domain": "category"})
    assert [(c.node, c.device) for c in curves_from_samples(frame)] == [("n0", "0"), ("n1", "1")]


def test_covered_before_counts_overlapping_windows_once():
    """The covered-time function the swings' phases and the steps.csv check read, against a fine grid."""
    import numpy as np

    from olmo_green.integrate import covered_before

    rng = np.random.default_rng(0)
    grid = np.linspace(-10.0, 130.0, 140_001)
    step = grid[1] - grid[0]
    for _ in range(50):
        n = int(rng.integers(0, 20))
        start = rng.uniform(0.0, 100.0, n)
        end = start + rng.uniform(0.0, 20.0, n)
        at = np.sort(rng.uniform(-10.0, 130.0, 30))
        inside = np.zeros(len(grid), bool)
        for a, b in zip(start, end, strict=True):
            inside |= (grid >= a) & (grid < b)
        brute = np.interp(at, grid, np.r_[0.0, np.cumsum(inside[:-1]) * step])
        assert np.allclose(covered_before(start, end)(at), brute, atol=2e-3)
