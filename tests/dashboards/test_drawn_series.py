"""What the dashboard draws, read back from the page in headless Chromium: a device at constant power
is a flat band, and cumulative energy is exact at every step (across a resume) and ends at the
report's total."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.dashboards import write_run_dashboard
from olmo_green.dashboards.cumulative import cumulative_at_steps_j
from olmo_green.dashboards.rundata import load_run
from tests.dashboards.browser import check_page, find_chromium

POWER_W, DEVICES, START_S = 500.0, 2, 1_767_225_600.0
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Sampled stretches (s from START_S): the first attempt, then 200 s down, then the resumed attempt.
SAMPLED = [(0.0, 400.0), (600.0, 920.0)]

# Reads the drawn series (plotly's full data: what it draws) and their extent in pixels.
DRAWN = """<script>
window.addEventListener('load', () => setTimeout(() => {
  const series = id => {
    const gd = document.getElementById(id);
    const y2px = gd._fullLayout.yaxis.l2p;
    return gd._fullData.filter(t => t.visible === true).map(t => {
      const ys = Array.from(t.y).filter(v => Number.isFinite(v));
      return {name: t.name, fill: t.fill, x: Array.from(t.x), y: Array.from(t.y),
              span_px: ys.length ? Math.abs(y2px(Math.max(...ys)) - y2px(Math.min(...ys))) : null};
    });
  };
  const device = document.getElementById('power-device-plot');
  const out = {errors: window.__errors, device: series('power-device-plot'),
               energy: series('energy-emissions-plot'),
               fills: device.querySelectorAll('.scatterlayer .trace path.js-fill').length,
               plot_px: device._fullLayout._size.h};
  const pre = document.createElement('pre');
  pre.id = 'browser-check';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 1000));
</script>"""


def sampled_s_until(end_s: np.ndarray) -> np.ndarray:
    """Seconds of samples from the start up to each time (the gap between attempts not counted)."""
    return sum(np.clip(end_s - START_S - a, 0.0, b - a) for a, b in SAMPLED)


def windows() -> pd.DataFrame:
    """Steps 1-38 with an eval after step 20, the record down for 200 s, then a second attempt
    resumed from the checkpoint of step 30 (31-60); 9 s windows, 1 s between them."""
    rows = [(k, 10.0 + 10 * (k - 1), "train", 0) for k in range(1, 21)]
    rows += [(20, 210.0, "eval", 0)]
    rows += [(k, 220.0 + 10 * (k - 21), "train", 0) for k in range(21, 39)]
    rows += [(k, 610.0 + 10 * (k - 31), "train", 1) for k in range(31, 61)]
    frame = pd.DataFrame(rows, columns=["step", "time_start_s", "phase", "attempt"])
    frame["time_start_s"] += START_S
    frame["time_end_s"] = frame["time_start_s"] + 9.0
    frame["tokens"] = np.where(frame["phase"] == "train", 1000, 0)
    frame["loss"], frame["lr"] = 3.0, 1e-3
    return frame


def integral_j(time_s: np.ndarray, power_w: np.ndarray, start_s: float, end_s: float) -> float:
    """Trapezoid over the samples inside [start, end], never across the 200 s without samples."""
    inside = (time_s >= start_s) & (time_s <= end_s)
    t, p = time_s[inside], power_w[inside]
    joined = np.diff(t) < 10.0
    return float(np.sum(((p[1:] + p[:-1]) / 2 * np.diff(t))[joined]))


def write_record(run: Path, period_s: float, power_w) -> tuple[np.ndarray, np.ndarray]:
    """A record of two GPUs sampled every `period_s` at power_w(time_s); each window's energy_j is
    the samples' trapezoid (the meter's own figure). Returns one device's (time_s, power_w)."""
    (run / "telemetry").mkdir(parents=True)
    (run / "config.yaml").write_text("hardware: mosaicml-a100\n")
    time_s = START_S + np.concatenate([np.arange(a, b + period_s / 2, period_s) for a, b in SAMPLED])
    power = power_w(time_s)
    pd.concat([pd.DataFrame({"time_s": time_s, "node": "n0", "device": str(d), "domain": "gpu",
                             "power_w": power, "energy_j": np.nan, "source": "nvml"})
               for d in range(DEVICES)]).to_csv(run / "telemetry" / "n0.open.csv", index=False)
    frame = windows()
    frame["energy_j"] = [DEVICES * integral_j(time_s, power, a, b)
                         for a, b in zip(frame["time_start_s"], frame["time_end_s"], strict=True)]
    frame.sort_values("time_start_s").to_csv(run / "steps.csv", index=False)
    return time_s, power


@pytest.fixture(scope="module")
def resumed_run(tmp_path_factory) -> Path:
    """Two GPUs at exactly 500 W, sampled each second, through the windows above."""
    run = tmp_path_factory.mktemp("drawn") / "resumed"
    write_record(run, 1.0, lambda t: np.full(len(t), POWER_W))
    return run


@pytest.fixture(scope="module")
def varying_run(tmp_path_factory):
    """500 W in train windows, 200 W in the eval, 100 W between windows; sampled every 0.5 s."""
    run = tmp_path_factory.mktemp("drawn") / "varying"
    frame = windows()

    def power_w(t):
        out = np.full(len(t), 100.0)
        for start, end, phase in zip(frame["time_start_s"], frame["time_end_s"], frame["phase"], strict=True):
            out[(t >= start) & (t <= end)] = 500.0 if phase == "train" else 200.0
        return out

    return run, *write_record(run, 0.5, power_w)


def report_total_j(run: Path) -> float:
    result = CliRunner().invoke(cli, ["report", str(run), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["runs"][0]["gpu_energy_mwh"] * 3.6e9


def test_cumulative_energy_is_exact_at_every_step_across_the_resume(varying_run):
    path, time_s, power_w = varying_run
    run = load_run(path)
    energy_j, total_j = cumulative_at_steps_j(run)
    ends = run.steps["time_end_s"].to_numpy(float)
    expected = [DEVICES * integral_j(time_s, power_w, START_S, end) for end in ends]
    assert list(run.steps["step"]) == list(range(1, 61))  # the redone 31-38 drawn once, the second time
    assert np.allclose(energy_j, expected, rtol=1e-9, atol=0)
    assert np.all(np.diff(energy_j) > 0)  # never falls back at the resume
    assert total_j == pytest.approx(report_total_j(path), rel=1e-12)
    assert total_j == pytest.approx(DEVICES * integral_j(time_s, power_w, START_S, time_s[-1]), rel=1e-9)


BROWSER = find_chromium()


@pytest.mark.skipif(BROWSER is None, reason="Chromium is not installed (apt-get install -y chromium)")
def test_the_page_draws_a_flat_band_and_energy_ending_at_the_reports_total(resumed_run):
    page = write_run_dashboard(resumed_run)
    drawn = check_page(BROWSER, page, ARTIFACTS / "dashboard-resumed-run.png", check=DRAWN)
    assert drawn["errors"] == []
    devices = [t for t in drawn["device"] if t["name"].startswith("n0/")]
    assert len(devices) == 3 * DEVICES  # per device: low edge, high edge (filled), mean line
    assert sum(t["fill"] == "tonexty" for t in devices) == DEVICES and drawn["fills"] >= DEVICES
    for trace in devices:
        values = [v for v in trace["y"] if v is not None]
        assert values and all(v == pytest.approx(POWER_W) for v in values), trace["name"]
        assert trace["span_px"] < 1.0, trace["name"]  # flat on screen, not a saw
    (energy,) = [t for t in drawn["energy"] if t["name"].endswith("accelerator energy")]
    wh = np.array(energy["y"], dtype=float) * 3600.0  # the panel's unit: Wh for this small run
    assert wh[-1] == pytest.approx(report_total_j(resumed_run), rel=1e-6)
    run = load_run(resumed_run)
    expected = DEVICES * POWER_W * sampled_s_until(run.steps["time_end_s"].to_numpy(float))
    assert energy["x"][:-1] == list(range(1, 61)) and energy["x"][-1] == 60
    assert np.allclose(wh[:-1], expected, rtol=1e-6)
