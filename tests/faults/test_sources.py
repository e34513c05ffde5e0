"""Sources that fail, recover, lie or reset mid-run: training goes on, nothing flushed is lost.

Each test runs a meter with its own background sampler around a fake loop,
injects the fault while the record is being written, and checks the record on
disk and the report built from it.
"""

from __future__ import annotations

import math
import os
import time
from unittest import mock

import numpy as np
import pynvml
import pytest

from olmo_green import record as rr
from olmo_green.reports.jsonform import run_to_json
from olmo_green.telemetry.sources.base import DeviceInfo, Reading, Source
from olmo_green.telemetry.sources.hwmon import HwmonSource
from olmo_green.telemetry.sources.nvml import NvmlSource
from tests.faults.helpers import assert_kept, event_kinds, flushed, open_meter, report, train, train_steps
from tests.telemetry.sources.sysfs import drm_tree, write

POWER_W = 300.0


@pytest.fixture
def nvml(monkeypatch):
    """One H100 drawing 300 W, its counter (mJ) advancing with time; set state["lost"] to fail reads."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    state = {"lost": False, "t0": time.monotonic()}

    def check():
        if state["lost"]:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)

    def power(handle):
        check()
        return int(POWER_W * 1000)

    def energy(handle):
        check()
        return int(POWER_W * 1000 * (time.monotonic() - state["t0"]))

    effects = {"nvmlInit": None, "nvmlShutdown": None, "nvmlDeviceGetCount": lambda: 1,
               "nvmlDeviceGetHandleByIndex": lambda index: index,
               "nvmlDeviceGetUUID": lambda handle: "GPU-aaaa", "nvmlDeviceGetName": lambda handle: "H100",
               "nvmlDeviceGetPowerUsage": power, "nvmlDeviceGetTotalEnergyConsumption": energy}
    with mock.patch.multiple(pynvml, **{name: mock.DEFAULT for name in effects}, autospec=True) as mocks:
        for name, effect in effects.items():
            mocks[name].side_effect = effect
        yield state


def test_nvml_failing_mid_run_is_a_gap_and_recovery_closes_it(tmp_path, nvml):
    meter = open_meter(tmp_path, [NvmlSource()])
    train(meter, 5)
    before = flushed(tmp_path)
    nvml["lost"] = True  # the driver reports the GPU lost
    train(meter, 5)
    nvml["lost"] = False
    train(meter, 5)
    meter.close()

    assert train_steps(tmp_path) == list(range(1, 16))  # training never stopped
    after = rr.read_samples(tmp_path)
    assert_kept(before, after)
    gaps = [e for e in rr.read_events(tmp_path) if e["kind"].startswith("gap_")]
    assert [e["kind"] for e in gaps] == ["gap_start", "gap_end"] and "GPU" in gaps[0]["error"]
    account = report(tmp_path)
    assert account.gaps.events == 1 and account.gaps.event_s > 0
    duration_s = after["time_s"].max() - after["time_s"].min()
    # The counter measured across the gap: its delta is real energy, so the total is not short.
    assert account.gpu_energy_j == pytest.approx(POWER_W * duration_s, rel=0.05)


def test_sysfs_file_vanishing_mid_run_ends_the_record_in_an_open_gap(tmp_path):
    root = drm_tree(tmp_path / "sys", gcds=1)
    hwmon = root / "card0/device/hwmon/hwmon3"
    t0 = time.monotonic()

    def advance(step):  # the driver moves the counter (µJ) as the device draws 312 W
        if (hwmon / "energy1_input").exists():  # in one rename: a reader never sees it half-written
            os.replace(write(hwmon, "energy.tmp", int(312e6 * (time.monotonic() - t0))),
                       hwmon / "energy1_input")

    run = tmp_path / "run"
    meter = open_meter(run, [HwmonSource(root)], hardware="lumi")
    train(meter, 5, advance)
    before = flushed(run)
    (hwmon / "energy1_input").unlink()  # a driver unload takes the hwmon files with it
    train(meter, 5, advance)
    meter.close()

    assert train_steps(run) == list(range(1, 11))
    after = rr.read_samples(run)
    assert_kept(before, after)
    assert event_kinds(run).count("gap_start") == 1 and "gap_end" not in event_kinds(run)
    assert report(run).gaps.events == 1  # the run ended inside the gap: still counted


class LyingSource(Source):
    """Power only (no counter), 200 W, but every third read one of: negative, NaN, inf, 10 kW."""

    name = "liar"
    LIES = (-50.0, math.nan, math.inf, 10_000.0)
    REASONS = ("negative", "not_finite", "not_finite", "above_limit")

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.told = {"negative": 0, "not_finite": 0, "above_limit": 0}

    def _open(self) -> list[DeviceInfo]:
        return [DeviceInfo("0", "gpu", "liar", "power_integration")]

    def _read(self, time_s: float) -> list[Reading]:
        self.reads += 1
        power_w = 200.0
        if self.reads % 3 == 0:
            lie = (self.reads // 3) % len(self.LIES)
            power_w = self.LIES[lie]
            self.told[self.REASONS[lie]] += 1
        return [Reading(time_s, "0", "gpu", power_w, math.nan, self.name)]


def test_lying_source_values_are_dropped_and_counted_in_the_report(tmp_path):
    source = LyingSource()
    meter = open_meter(tmp_path, [source])  # h100: TDP 700 W, so the limit is 2,100 W
    train(meter, 10)
    meter.close()

    samples = rr.read_samples(tmp_path)
    assert samples["power_w"].between(0.0, 2100.0).all()  # no lie reached the record
    account = report(tmp_path)
    assert account.rejected_samples == {k: v for k, v in source.told.items() if v}
    assert sum(account.rejected_samples.values()) == source.reads // 3
    assert any("implausible sensor value" in note for note in account.notes)
    duration_s = samples["time_s"].max() - samples["time_s"].min()
    assert account.gpu_energy_j == pytest.approx(200.0 * duration_s, rel=0.02)  # the lies cost nothing
    assert run_to_json(account)["rejected_samples"] == account.rejected_samples


class ResettingSource(Source):
    """A 250 W counter that restarts from zero once (a driver reload) `reset_after_s` after its
    first reading. Its counter runs on the readings' own time stamps, so a loaded machine that
    reads late changes when samples fall, never how much energy lies between them."""

    name = "resetting"

    def __init__(self, reset_after_s: float) -> None:
        super().__init__()
        self.reset_after_s = reset_after_s
        self.t0: float | None = None

    def _open(self) -> list[DeviceInfo]:
        return [DeviceInfo("0", "gpu", "resetting", "counter")]

    def _read(self, time_s: float) -> list[Reading]:
        if self.t0 is None:
            self.t0 = time_s
        since = time_s - self.t0
        if since >= self.reset_after_s:
            since -= self.reset_after_s
        return [Reading(time_s, "0", "gpu", 250.0, 250.0 * since, self.name)]


def test_counter_reset_mid_run_loses_no_energy_and_is_noted(tmp_path):
    meter = open_meter(tmp_path, [ResettingSource(reset_after_s=0.1)])
    train(meter, 20)
    meter.close()

    samples = rr.read_samples(tmp_path)
    backwards = np.flatnonzero(np.diff(samples["energy_j"]) < 0)
    assert len(backwards) == 1  # the reset is in the record as read
    account = report(tmp_path)
    assert account.devices[0].resets == 1
    assert any("counter reset" in note for note in account.notes)
    times = samples["time_s"].to_numpy()
    duration_s = times[-1] - times[0]
    # At most the interval that spans the reset is lost (the counter restarted at 0); on a loaded
    # machine that interval is whatever the sampler managed, so the bound is read from the record.
    spanning_s = times[backwards[0] + 1] - times[backwards[0]]
    assert 250.0 * (duration_s - spanning_s) - 1e-6 <= account.gpu_energy_j <= 250.0 * duration_s + 1e-6
    steps = rr.read_steps(tmp_path)
    assert (steps["energy_j"] >= 0).all()


def test_wall_clock_jumping_back_mid_run_keeps_sample_and_step_times_monotonic(tmp_path, monkeypatch):
    meter = open_meter(tmp_path, [ResettingSource(reset_after_s=1e9)])
    train(meter, 5)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 3600.0)  # NTP steps the clock back an hour
    train(meter, 5)
    meter.close()

    samples = rr.read_samples(tmp_path)
    assert samples["time_s"].is_monotonic_increasing and samples["time_s"].is_unique
    steps = rr.read_steps(tmp_path)
    assert steps["time_start_s"].is_monotonic_increasing
    assert (steps["time_end_s"] >= steps["time_start_s"]).all()
    assert train_steps(tmp_path) == list(range(1, 11))
