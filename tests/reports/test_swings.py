"""Grid impact: peak, floor and swings of a job's power, honest about bucket resolution."""

import numpy as np
import pandas as pd
import pytest

from olmo_green.reports import account_run, to_json_dict
from olmo_green.reports.swings import count_swings, power_swings
from tests.reports.traces import write_run

T0 = 1.7e9
PEAK_W = 5600.0  # 8 H100s at 700 W


def _job_power(power_w, bucket_s=10.0, nodes=None, times=None):
    power_w = np.asarray(power_w, dtype=float)
    time_s = T0 + np.arange(len(power_w)) * bucket_s if times is None else np.asarray(times, float)
    return pd.DataFrame({"time_s": time_s, "bucket_s": bucket_s, "power_w": power_w,
                         "nodes": 1 if nodes is None else nodes})


def _steps(windows):
    return pd.DataFrame([{"time_start_s": T0 + a, "time_end_s": T0 + b, "phase": p} for a, b, p in windows])


def _checkpoint_dip(bucket_s=10.0):
    """Training at 85% of peak, a checkpoint at 15% for 30 s, training again (Morrison et al. §4.3)."""
    power = [0.85 * PEAK_W] * 6 + [0.15 * PEAK_W] * 3 + [0.85 * PEAK_W] * 6
    steps = _steps([(0, 60, "train"), (60, 90, "checkpoint"), (90, 150, "train")])
    return _job_power(power, bucket_s), steps


def test_checkpoint_dip_is_the_largest_drop_and_rise_with_its_phase():
    swings = power_swings(*_checkpoint_dip())
    assert swings.peak_w == pytest.approx(0.85 * PEAK_W)
    assert swings.floor_w == pytest.approx(0.15 * PEAK_W) and swings.floor_phase == "checkpoint"
    big = swings.within(10.0)
    assert big.drop_w == pytest.approx(0.70 * PEAK_W) and big.drop_phase == "checkpoint"
    assert big.rise_w == pytest.approx(0.70 * PEAK_W) and big.rise_phase == "checkpoint"
    assert swings.percent_of_peak(big.drop_w) == pytest.approx(100 * 0.70 / 0.85)
    assert swings.swings_over_half_peak == 2


def test_a_swing_within_1_s_is_unavailable_from_10_s_buckets():
    one = power_swings(*_checkpoint_dip()).within(1.0)
    assert not one.available and one.drop_w is None
    assert "summary_bucket_s=1" in one.why


def test_1_s_buckets_show_the_swing_within_1_s():
    job, steps = _checkpoint_dip(bucket_s=1.0)
    steps = _steps([(0, 6, "train"), (6, 9, "checkpoint"), (9, 15, "train")])
    one = power_swings(job, steps).within(1.0)
    assert one.available and one.drop_w == pytest.approx(0.70 * PEAK_W)


def test_a_missing_node_is_not_a_drop():
    power = [PEAK_W] * 3 + [PEAK_W / 2] + [PEAK_W] * 3
    swings = power_swings(_job_power(power, nodes=[2, 2, 2, 1, 2, 2, 2]))
    assert swings.within(10.0).drop_w == 0.0 and swings.incomplete_buckets == 1
    assert swings.swings_over_half_peak == 0


def test_buckets_further_apart_than_the_window_are_not_a_swing():
    times = T0 + np.array([0.0, 10.0, 600.0, 610.0])  # a 10-minute hole in the record
    swings = power_swings(_job_power([PEAK_W, PEAK_W, 0.1 * PEAK_W, 0.1 * PEAK_W], times=times))
    assert swings.within(10.0).drop_w == 0.0 and swings.swings_over_half_peak == 0


def test_a_slow_decline_over_several_buckets_counts_as_one_swing():
    power = np.linspace(PEAK_W, 0.2 * PEAK_W, 8)
    assert count_swings(T0 + np.arange(8) * 10.0, power, 10.0, 0.5 * PEAK_W) == 1
    # within 10 s only one bucket-to-bucket step is seen
    assert power_swings(_job_power(power)).within(10.0).drop_w == pytest.approx(0.8 * PEAK_W / 7)


def test_no_buckets_no_swings():
    assert power_swings(_job_power([])) is None


def test_run_report_carries_power_swings_with_the_fixed_keys(tmp_path):
    account = account_run(write_run(tmp_path / "run"))  # 2 GPUs at 300 W for 100 s
    swings = to_json_dict([account])["runs"][0]["power_swings"]
    assert {"peak_w", "mean_w", "floor_w", "largest_drop_w", "largest_drop_phase", "largest_rise_w",
            "swings_over_half_peak"} <= set(swings)
    assert swings["peak_w"] == pytest.approx(600.0) and swings["floor_w"] == pytest.approx(600.0)
    assert swings["largest_drop_w"] == pytest.approx(0.0)  # steady power: no swing invented


def test_job_power_sums_the_nodes_bucket_by_bucket():
    from olmo_green.traces.samples import trace_energy

    time_s = T0 + np.arange(0.0, 41.0, 1.0)
    samples = pd.concat([pd.DataFrame({"time_s": time_s, "node": node, "device": "0", "domain": "gpu",
                                       "power_w": power, "energy_j": np.nan})
                         for node, power in (("n0", 300.0), ("n1", 500.0))], ignore_index=True)
    job = trace_energy(samples).job_power()
    full = job[job["power_w"] > 0]
    assert (full["nodes"] == 2).all() and np.allclose(full["power_w"], 800.0)
    assert list(full["time_s"]) == [T0 + 10.0 * k for k in range(4)]
    one = trace_energy(samples[samples["node"] == "n0"]).job_power()
    assert list(one.columns) == ["time_s", "bucket_s", "power_w", "nodes"]
    assert np.allclose(one.loc[one["power_w"] > 0, "power_w"], 300.0) and (one["nodes"] == 1).all()
