"""The meter: steps plus phases equal the run total; totals continue across a resume."""

import time

import pytest

from olmo_green import record as rr
from olmo_green.integrate import curves_from_samples
from olmo_green.telemetry import EnergyMeter
from tests.telemetry.fakes import SteadySource, SwitchedSource


def record_total_j(run_dir, domain="gpu") -> float:
    """The run's total as a report computes it: from the samples, by integrate.py."""
    return sum(c.total_j for c in curves_from_samples(rr.read_samples(run_dir)) if c.domain == domain)


def _simple_run(run_dir, steps=12):
    with EnergyMeter(run_dir=run_dir, hardware="lumi", simulate=True, sampling_interval_s=0.01,
                     flush_interval_s=0.05, sync_interval_steps=4) as meter:
        for _ in range(steps):
            time.sleep(0.003)
            meter.step(tokens=256, loss=1.5)
        with meter.phase("eval"):
            time.sleep(0.01)
        with meter.phase("data_wait"):
            time.sleep(0.01)
        meter.step(tokens=256)
    return meter


def test_steps_plus_phases_equal_the_record_total(tmp_path):
    meter = _simple_run(tmp_path)
    steps = rr.read_steps(tmp_path)
    assert (steps["phase"] == "train").sum() == 13
    assert {"eval", "data_wait"} <= set(steps["phase"])
    total_j = record_total_j(tmp_path)
    assert steps["energy_j"].sum() == pytest.approx(total_j, rel=1e-3)
    assert meter.totals.run_j == pytest.approx(total_j, rel=1e-3)
    assert steps.loc[steps["phase"] == "train", "tokens"].eq(256).all()


def test_modelled_energy_says_so_and_counts_packages(tmp_path):
    meter = _simple_run(tmp_path, steps=3)
    samples = rr.read_samples(tmp_path)
    assert set(samples["device"]) == {"0", "2", "4", "6"}  # 4 MI250X packages, not 8 GCDs
    assert {c.method for c in curves_from_samples(samples)} == {"modelled"}
    assert meter.live_status()["method"] == "modelled"


def test_state_dict_continues_totals(tmp_path):
    first = _simple_run(tmp_path / "a", steps=3)
    second = EnergyMeter(hardware="lumi", simulate=True, sampling_interval_s=0.01)
    second.load_state_dict(first.state_dict())
    with second:
        time.sleep(0.02)
        second.step()
    assert second.last_step == first.last_step + 1
    assert second.totals.run_j > first.totals.run_j


def test_a_failing_source_never_stops_the_loop(tmp_path):
    source = SteadySource(power_w=200.0)
    with EnergyMeter(run_dir=tmp_path, sources=[source], sampling_interval_s=0.01) as meter:
        meter.step()
        source.fail = True
        time.sleep(0.05)
        meter.step()
        source.fail = False
        time.sleep(0.03)
        meter.step()
    kinds = [e["kind"] for e in rr.read_events(tmp_path)]
    assert "gap_start" in kinds and "gap_end" in kinds
    assert meter.totals.run_j == pytest.approx(record_total_j(tmp_path), rel=1e-3)


def test_no_sensor_warns_and_runs_without_energy(tmp_path, caplog):
    with EnergyMeter(run_dir=tmp_path, sources=[], sampling_interval_s=0.01) as meter:
        meter.step()
    assert meter.totals.run_j == 0.0 and meter.live_status()["method"] == "none"
    assert any("no energy sensor" in m for m in caplog.messages)
    steps = rr.read_steps(tmp_path)
    assert len(steps) >= 1 and steps["energy_j"].isna().all()  # unknown, not a measured zero


def test_node_domains_are_totalled_apart(tmp_path):
    gpu, cpu = SteadySource(power_w=300.0), SteadySource(power_w=50.0, domain="cpu")
    with EnergyMeter(sources=[gpu, cpu], sampling_interval_s=0.01) as meter:
        time.sleep(0.05)
        meter.step()
    totals = meter.domain_totals_j()
    assert set(totals) == {"gpu", "cpu"}
    assert totals["gpu"] == pytest.approx(6 * totals["cpu"], rel=1e-6)
    assert meter.totals.run_j == pytest.approx(totals["gpu"], rel=1e-6)  # steps count the accelerators


def _short_busy_step_j(run_dir, read_at_boundaries: bool) -> tuple[float, float]:
    """A 0.1 s step at 1000 W between idle stretches, sampled in the background only once a second."""
    source = SwitchedSource()
    with EnergyMeter(run_dir=run_dir, sources=[source], sampling_interval_s=1.0, merge_idle_s=0.0,
                     read_at_boundaries=read_at_boundaries) as meter:
        meter.begin("idle")
        time.sleep(0.3)
        meter.begin("train")
        source.switch(1000.0)
        time.sleep(0.1)
        source.switch(0.0)
        meter.end_step(1, {"tokens": 1})
        time.sleep(0.3)
    steps = rr.read_steps(run_dir)
    step = steps[steps["phase"] == "train"].iloc[-1]  # the first window is the opening 0.3 s
    return float(step["energy_j"]), float(step["time_end_s"] - step["time_start_s"])


def test_boundary_reads_give_a_short_step_its_own_energy(tmp_path):
    energy_j, duration_s = _short_busy_step_j(tmp_path / "read", read_at_boundaries=True)
    assert energy_j == pytest.approx(1000.0 * duration_s, rel=0.1)
    # without reads at the boundaries the step gets an interpolated share of a long interval
    energy_j, duration_s = _short_busy_step_j(tmp_path / "interpolated", read_at_boundaries=False)
    assert energy_j < 0.5 * 1000.0 * duration_s
