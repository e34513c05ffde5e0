"""A trace's batches integrated as they come give the figures of integrating each device whole.

The reference is independent: NumPy's trapezoid (or counter differences) per
device over the raw samples, and the cumulative curve interpolated at hour
edges for the hourly series. Batches as small as a few rows cut every device's
curve many times: the seams must be counted once.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.errors import InputFileError
from olmo_green.traces.formats import TraceOptions
from olmo_green.traces.read import read_traces

T0 = 1_700_000_000.0


def _trace(devices: int = 4, n: int = 3000, seed: int = 0, period_s: float = 1.3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    time_s = T0 + np.cumsum(rng.uniform(0.5 * period_s, 1.5 * period_s, n))
    frames = [pd.DataFrame({"time_s": time_s + 0.01 * d, "device": str(d),
                            "power_w": 300 + 250 * np.sin(np.arange(n) / 40 + d) + rng.uniform(0, 50, n)})
              for d in range(devices)]
    return pd.concat(frames).sort_values("time_s", kind="stable").reset_index(drop=True)  # time-major


def _reference_j(frame: pd.DataFrame) -> dict[str, float]:
    return {str(d): float(np.trapezoid(rows["power_w"], rows["time_s"]))
            for d, rows in frame.groupby("device", sort=True)}


def _hourly_reference_j(frame: pd.DataFrame, edges: np.ndarray) -> np.ndarray:
    total = np.zeros(len(edges) - 1)
    for _, rows in frame.groupby("device"):
        t, p = rows["time_s"].to_numpy(), rows["power_w"].to_numpy()
        cumulative = np.r_[0.0, np.cumsum(np.diff(t) * (p[1:] + p[:-1]) / 2)]
        total += np.diff(np.interp(edges, t, cumulative))
    return total


@pytest.mark.parametrize("batch_rows", [7, 1000, 1_000_000])
def test_streamed_totals_and_hours_equal_numpy(tmp_path, batch_rows):
    frame = _trace()
    path = tmp_path / "n0.csv"
    frame.to_csv(path, index=False)
    energy = read_traces([path], options=TraceOptions(batch_rows=batch_rows), progress=False).energy
    got = {c.device: c.total_j for c in energy.devices}
    want = _reference_j(frame)
    assert got.keys() == want.keys()
    for device, joules in want.items():
        assert got[device] == pytest.approx(joules, rel=1e-9)
    edges = np.arange(np.floor(T0 / 3600) * 3600, frame["time_s"].max() + 3600, 3600.0)
    hourly = sum(c.energy_between_j(edges[:-1], edges[1:]) for c in energy.timeline())
    assert np.allclose(hourly, _hourly_reference_j(frame, edges), rtol=1e-9, atol=1e-6)


def _report(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["report", "--intensity", "0.5", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["runs"][0]


def test_tiny_batches_give_the_same_report_as_one(tmp_path, monkeypatch):
    """Every figure, the swings included: open buckets are carried across batches, not split."""
    path = tmp_path / "n0.csv"
    _trace(n=2000).to_csv(path, index=False)
    whole = _report("--trace", str(path))
    monkeypatch.setattr(TraceOptions, "__init__", _small_batches(TraceOptions.__init__))
    cut = _report("--trace", str(path))
    assert cut["gpu_energy_mwh"] == pytest.approx(whole["gpu_energy_mwh"], rel=1e-12)
    for key in ("peak_w", "mean_w", "floor_w", "largest_drop_w", "largest_rise_w", "buckets"):
        assert cut["power_swings"][key] == pytest.approx(whole["power_swings"][key], rel=1e-9), key
    assert [c["emissions_tco2eq"] for c in cut["carbon"]] == pytest.approx(
        [c["emissions_tco2eq"] for c in whole["carbon"]], rel=1e-12)


def _small_batches(init):
    def patched(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.batch_rows = 13
    return patched


def test_the_counter_is_used_where_a_device_has_one(tmp_path):
    frame = _trace(devices=2, n=500)
    counter = frame.groupby("device")["power_w"].transform(lambda p: 2.0 * np.arange(len(p)) * 300.0)
    frame["energy_j"] = np.where(frame["device"] == "0", counter, np.nan)
    path = tmp_path / "n0.csv"
    frame.to_csv(path, index=False)
    devices = {c.device: c for c in read_traces([path], options=TraceOptions(batch_rows=97),
                                                progress=False).energy.devices}
    last = frame[frame["device"] == "0"]["energy_j"].iloc[-1]
    assert devices["0"].method != "power_integration"
    assert devices["0"].total_j == pytest.approx(last, rel=1e-12)
    assert devices["1"].total_j == pytest.approx(_reference_j(frame[frame["device"] == "1"])["1"], rel=1e-9)


def test_a_single_counter_reading_falls_back_to_power(tmp_path):
    """One reading is no counter (integrate.uses_counter): the first batch guessed counter, the
    file is read again with power, and the total is the power's."""
    frame = _trace(devices=1, n=300)
    frame["energy_j"] = np.nan
    frame.loc[0, "energy_j"] = 5.0
    path = tmp_path / "n0.csv"
    frame.to_csv(path, index=False)
    device = read_traces([path], options=TraceOptions(batch_rows=50), progress=False).energy.devices[0]
    assert device.total_j == pytest.approx(_reference_j(frame)["0"], rel=1e-9)


def test_several_files_are_one_node_each(tmp_path):
    a, b = _trace(devices=2, seed=1), _trace(devices=3, seed=2)
    a.to_csv(tmp_path / "gpu01.csv", index=False)
    b.to_csv(tmp_path / "gpu02.csv", index=False)
    run = _report("--trace", str(tmp_path / "gpu01.csv"), str(tmp_path / "gpu02.csv"))
    want = sum(_reference_j(a).values()) + sum(_reference_j(b).values())
    assert run["gpu_energy_mwh"] * 3.6e9 == pytest.approx(want, rel=1e-9)
    assert run["trace_format"] == "record"
    assert [f["node"] for f in run["trace"]["files"]] == ["gpu01", "gpu02"]
    assert set(run["power_swings"]["nodes"]) == {"gpu01", "gpu02"}
    assert any("read as record (sniffed" in note for note in run["notes"])


def test_the_same_node_in_two_files_is_refused(tmp_path):
    frame = _trace(devices=1, n=50)
    frame.assign(node="n1").to_csv(tmp_path / "a.csv", index=False)
    frame.assign(node="n1").to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(InputFileError, match="node n1 is also in an earlier file"):
        read_traces([tmp_path / "a.csv", tmp_path / "b.csv"], progress=False)


def _checkpointing(devices: int, period_s: float, seconds: float) -> pd.DataFrame:
    """GPUs at 650 W that fall to 90 W for 3 s every 60 s (a checkpoint), sampled every period."""
    time_s = T0 + np.arange(0.0, seconds, period_s)
    low = (time_s - T0) % 60.0 >= 57.0
    power = np.where(low, 90.0, 650.0)
    return pd.DataFrame({"time_s": np.repeat(time_s, devices),
                         "device": np.tile(np.arange(devices), len(time_s)),
                         "power_w": np.repeat(power, devices)})


def test_a_100ms_log_shows_its_1s_swings(tmp_path):
    path = tmp_path / "n0.csv"
    _checkpointing(8, 0.1, 600.0).to_csv(path, index=False)
    swings = _report("--trace", str(path))["power_swings"]
    one = next(w for w in swings["windows"] if w["window_s"] == 1.0)
    assert one["available"] and one["bucket_s"] == 0.5
    # 8 GPUs x 560 W fall within one second: seen whole at 0.5 s buckets
    assert one["drop_w"] == pytest.approx(8 * 560.0, rel=1e-6)
    assert one["drop_pct_of_peak"] == pytest.approx(100 * 560 / 650, rel=1e-6)
    assert one["time_s"] if "time_s" in one else one["drop_time_s"] is not None
    ten = next(w for w in swings["windows"] if w["window_s"] == 10.0)
    assert ten["available"] and "bucket_s" not in ten  # the job's 10 s buckets, as for a record


def test_a_coarse_log_says_why_it_has_no_1s_window(tmp_path):
    path = tmp_path / "n0.csv"
    _checkpointing(2, 2.0, 1200.0).to_csv(path, index=False)
    one = next(w for w in _report("--trace", str(path))["power_swings"]["windows"] if w["window_s"] == 1.0)
    assert not one["available"] and one["drop_w"] is None
    assert "samples every 2 s" in one["why"]


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path):
    path = tmp_path / "n0.csv"
    _trace(n=100).to_csv(path, index=False)
    result = CliRunner().invoke(cli, ["report", "--trace", str(path), "--intensity", "0.5"])
    assert result.exit_code == 0 and "reading" not in result.stderr
