"""The forecast of a run's total: after warmup, from the measured energy per step."""

import json

import pytest

from olmo_green.record import EVENT_FORECAST, read_events
from olmo_green.reports import account_run
from olmo_green.telemetry.forecast import WARMUP_STEPS, Forecaster
from olmo_green.telemetry.ledger import Window
from olmo_green.telemetry.live import water_l_per_kwh
from tests.simulated_runs import steady_run

J_PER_MWH = 3.6e9


def window(step: int, energy_j: float, phase: str = "train", tokens: int = 100) -> Window:
    w = Window(phase=phase, start_s=float(step), step=step, end_s=step + 1.0,
               metrics={"tokens": tokens} if phase == "train" else {})
    w.energy_j = energy_j
    return w


def feed(forecaster, windows):
    phase_j, out = {}, []
    for w in windows:
        phase_j[w.phase] = phase_j.get(w.phase, 0.0) + w.energy_j
        out.append(forecaster.observe(w, phase_j))
    return out


def test_no_forecast_until_the_energy_per_token_settles():
    f = Forecaster(max_steps=100, kg_per_kwh=None, water_l_per_kwh=None, interval_s=0.0)
    warmup = [window(1, 900.0), window(2, 500.0), window(3, 100.0), window(4, 102.0), window(5, 98.0)]
    assert feed(f, warmup) == [None] * 5
    out = feed(f, [window(6, 100.0), window(7, 100.0)])
    assert out[0] is None and out[1] is not None  # five settled steps: 3..7
    assert out[1].at_step == 7


def test_projection_is_energy_so_far_plus_steps_left_at_the_steady_rate_with_evals():
    f = Forecaster(max_steps=50, kg_per_kwh=0.5, water_l_per_kwh=2.0, interval_s=0.0)
    windows = []
    for step in range(1, 12):
        windows.append(window(step, 1000.0))
        if step % 5 == 0:
            windows.append(window(step, 500.0, phase="eval"))
    forecast = [x for x in feed(f, windows) if x is not None][-1]
    assert forecast.at_step == 11
    so_far_j = 11 * 1000.0 + 2 * 500.0
    expected_j = so_far_j + 39 * (1000.0 + 1000.0 / 11)  # evals at their rate over the steps seen
    assert forecast.energy_j_at_end == pytest.approx(expected_j)
    event = forecast.event()
    assert event["energy_mwh_at_end"] == pytest.approx(expected_j / J_PER_MWH)
    assert event["emissions_tco2eq_at_end"] == pytest.approx(expected_j / 3.6e6 * 0.5 / 1000)
    assert event["water_kl_at_end"] == pytest.approx(expected_j / 3.6e6 * 2.0 / 1000)


def test_forecasts_come_at_most_once_per_interval():
    f = Forecaster(max_steps=1000, kg_per_kwh=None, water_l_per_kwh=None, interval_s=3600.0)
    out = feed(f, [window(s, 100.0) for s in range(1, 30)])
    assert sum(x is not None for x in out) == 1
    assert out[WARMUP_STEPS - 1] is not None  # the first comes as soon as warmup has passed


def test_water_needs_the_profile_wue_and_is_omitted_without():
    from olmo_green.hardware import load_profile

    assert water_l_per_kwh(load_profile("lumi")) is None  # no WUE published for LUMI
    jupiter = load_profile("jupiter")  # OLMo 2 paper: PUE 1.2, WUE 0 on-site + 1.29 off-site
    assert water_l_per_kwh(jupiter) == pytest.approx(1.2 * 1.29)
    assert water_l_per_kwh(load_profile("mosaicml-a100")) == pytest.approx(1.1 * 4.26)  # a published total
    f = Forecaster(max_steps=20, kg_per_kwh=None, water_l_per_kwh=None, interval_s=0.0)
    forecast = [x for x in feed(f, [window(s, 10.0) for s in range(1, 8)]) if x][0]
    assert "water_kl_at_end" not in forecast.event() and forecast.event()["emissions_tco2eq_at_end"] is None


def test_steady_simulated_run_first_forecast_lands_within_25_percent_and_the_report_says_how_far(tmp_path):
    run = tmp_path / "run"
    steady_run(run, steps=40, eval_every=10, max_steps=40, forecast_interval_s=0.0)
    forecasts = [e for e in read_events(run) if e["kind"] == EVENT_FORECAST]
    assert forecasts and forecasts[0]["at_step"] < 40  # warmup passed before the end
    assert set(forecasts[0]) >= {"at_step", "energy_mwh_at_end", "emissions_tco2eq_at_end"}
    account = account_run(run)
    first_mwh = forecasts[0]["energy_mwh_at_end"]
    assert abs(first_mwh - account.gpu_energy_mwh) / account.gpu_energy_mwh < 0.25
    note = next(n for n in account.notes if n.startswith("first forecast"))
    assert f"at step {forecasts[0]['at_step']} of 40" in note
    assert forecasts[0]["emissions_tco2eq_at_end"] > 0  # mosaicml-a100: 0.656 kg/kWh x PUE 1.1
    json.dumps(forecasts)  # events are plain JSON


def test_progress_text_shows_the_latest_forecast(tmp_path):
    meter = steady_run(tmp_path / "run", steps=12, max_steps=30, forecast_interval_s=0.0)
    assert meter.live.progress_text().startswith("forecast at step 30:")
