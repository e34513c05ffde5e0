"""Counter against power where they disagree (crosscheck/counter.py): which one broke.

Before, integrated power replaced the counter wherever the two disagreed, so a power column
scaled beside an intact counter "repaired" it: power x2 on one of four GCDs gave +25 % at exit 0.
Now the counter is replaced only where it shows how it broke (it stalled, or rose faster than
the device can draw); a counter that kept moving is kept, and where the two stay apart over a
whole chunk, one of them is wrong and `report` refuses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from olmo_green.crosscheck.counter import checked_curve
from tests.crosscheck.records import first_chunk, report, steady_run, verify

PERIOD_S = 0.1
POWER_W = 300.0
N = 1000  # 100 s: ten 10 s windows


def _device(power_w=POWER_W, counter=None) -> pd.DataFrame:
    """N readings of one GPU at a steady 300 W, 100 ms apart, its counter the exact integral."""
    time_s = 1.8e9 + PERIOD_S * np.arange(N)
    energy_j = POWER_W * PERIOD_S * np.arange(N) if counter is None else counter
    return pd.DataFrame({"time_s": time_s, "device": "0", "domain": "gpu", "power_w": power_w,
                         "energy_j": energy_j})


def _check(rows: pd.DataFrame, limit_w: float | None = None):
    return checked_curve(rows, max_gap_s=5 * PERIOD_S, bucket_s=10.0, limit_w=limit_w)


HONEST_J = POWER_W * PERIOD_S * (N - 1)


def _window(index: int) -> np.ndarray:
    """The readings inside the index-th 10 s window (as the summaries' epoch-aligned buckets)."""
    time_s = 1.8e9 + PERIOD_S * np.arange(N)
    bucket = np.floor(time_s / 10.0)
    return bucket == bucket.min() + index


@pytest.mark.parametrize("factor", [1.3, 0.7])
def test_power_scaled_throughout_beside_a_moving_counter_keeps_the_counter_and_is_unexplained(factor):
    curve, check = _check(_device(power_w=POWER_W * factor))
    assert curve.total_j == pytest.approx(HONEST_J, rel=1e-9)  # before: power's figure
    assert check.repaired_windows == 0 and check.disputed_windows >= 9
    assert check.unexplained_j > 0.15 * HONEST_J


def test_a_counter_scaled_throughout_is_unexplained_too():
    curve, check = _check(_device(counter=0.75 * POWER_W * PERIOD_S * np.arange(N)))
    assert check.repaired_windows == 0 and check.unexplained_j > 0.1 * HONEST_J


def test_power_off_in_one_window_keeps_the_counter_and_is_explained():
    """One window of ten where power reads 30 % high (a burst power's polling caught badly): the
    counter is kept, and over the chunk the two agree within the sensors' error: no refusal."""
    power = np.full(N, POWER_W)
    power[_window(4)] *= 1.3
    curve, check = _check(_device(power_w=power))
    assert curve.total_j == pytest.approx(HONEST_J, rel=1e-9)
    assert check.disputed_windows == 1 and check.unexplained_j == 0.0 and check.repaired_windows == 0


def test_a_counter_frozen_partway_through_a_window_is_repaired_from_power():
    counter = POWER_W * PERIOD_S * np.arange(N)
    frozen = np.flatnonzero(_window(3))[20]  # two seconds into the fourth window
    counter[frozen:] = counter[frozen]
    curve, check = _check(_device(counter=counter))
    assert curve.total_j == pytest.approx(HONEST_J, rel=0.01)
    assert check.repaired_windows >= 6 and check.disputed_windows == 0 and check.unexplained_j == 0.0


def test_a_counter_rising_faster_than_the_device_can_draw_is_repaired_given_the_limit():
    deltas = np.full(N - 1, POWER_W * PERIOD_S)
    deltas[_window(5)[1:]] *= 10  # 3 kW for ten seconds, no fall (no reset to catch it)
    counter = np.r_[0.0, np.cumsum(deltas)]
    curve, check = _check(_device(counter=counter), limit_w=1680.0)  # 3x an MI250X's 560 W
    assert curve.total_j == pytest.approx(HONEST_J, rel=0.01) and check.repaired_windows == 1
    _, unknown = _check(_device(counter=counter))  # no limit known: which one lies is not known
    assert unknown.repaired_windows == 0 and unknown.unexplained_j > 0


@pytest.fixture(scope="module")
def honest_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("disputes") / "run"
    steady_run(run, hardware="lumi", steps=20)
    return run


def _scaled_copy(run, tmp_path, column: str, factor: float):
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    path, samples = first_chunk(copy)
    device = (samples["device"] == "0") & (samples["domain"] == "gpu")
    samples.loc[device, column] *= factor
    samples.to_parquet(path, index=False)
    return copy


@pytest.mark.parametrize(("column", "factor"), [("power_w", 2.0), ("power_w", 1.3), ("energy_j", 0.75)])
def test_report_refuses_a_record_whose_counter_and_power_stay_apart(honest_run, tmp_path, column, factor):
    """Power x2 on one GCD of four, under the 3x TDP limit: +25 % at exit 0 before."""
    copy = _scaled_copy(honest_run, tmp_path, column, factor)
    code, out = report(copy)
    assert code != 0 and "Traceback" not in out
    assert "vm/0" in out and "cannot be told" in out and len(out.strip().splitlines()) == 1
    code, out = verify(copy)
    assert code == 1 and "vm/0" in out and "cannot be told" in out


def test_the_honest_record_has_no_dispute(honest_run):
    code, out = verify(honest_run)
    assert code == 0, out


def test_one_impossible_power_value_does_not_switch_the_counter_check_off(honest_run, tmp_path):
    """Counter x0.5 on one GCD plus one power cell at 5 kW (above 3x TDP): that value is dropped,
    the device's other power still checks the counter. Before, the one value dropped all of the
    device's power in the chunk, and the halved counter stood: 0.875x at exit 0."""
    copy = _scaled_copy(honest_run, tmp_path, "energy_j", 0.5)
    path, samples = first_chunk(copy)
    first = samples.index[(samples["device"] == "0") & (samples["domain"] == "gpu")][0]
    samples.loc[first, "power_w"] = 5000.0
    samples.to_parquet(path, index=False)
    code, out = report(copy)
    assert code != 0 and "vm/0" in out and "cannot be told" in out, out


@pytest.mark.parametrize(("every", "factor"), [(2, 2.0), (3, 3.0), (10, 10.0)])
def test_power_scaled_beside_a_counter_that_updates_less_often_than_it_is_read(every, factor):
    """A counter that changes every `every`-th reading is flat in between, honestly. Power x`every`
    then "agreed" with the counter wherever it moved, so its flat intervals read as a stall and
    power replaced it: x`factor` at exit 0. A stall is now a pause beyond the counter's own rhythm."""
    exact = POWER_W * PERIOD_S * np.arange(N)
    counter = exact[(np.arange(N) // every) * every]  # updates on every `every`-th reading
    curve, check = _check(_device(power_w=POWER_W * factor, counter=counter), limit_w=1680.0)
    assert curve.total_j == pytest.approx(counter[-1], rel=1e-9)
    assert check.repaired_windows == 0 and check.unexplained_j > 0


def test_an_honest_counter_that_updates_less_often_than_it_is_read_is_no_dispute():
    counter = (POWER_W * PERIOD_S * np.arange(N))[(np.arange(N) // 5) * 5]
    curve, check = _check(_device(counter=counter), limit_w=1680.0)
    assert check.repaired_windows == 0 and check.disputed_windows == 0


def _bursty(seed: int = 0) -> tuple[pd.DataFrame, float]:
    """Ten minutes of a load bursting between 250 and 650 W at random instants, read as instants
    every 100 ms (A100-like); the counter exact. Returns the rows and the true energy."""
    rng = np.random.default_rng(seed)
    fine_s = 0.001
    n_fine = int(600 / fine_s)
    level = np.repeat(rng.choice([250.0, 650.0], n_fine // 137 + 1), 137)[:n_fine]  # 137 ms bursts
    exact = np.r_[0.0, np.cumsum(level) * fine_s]
    read = np.arange(0, n_fine, 100)
    rows = pd.DataFrame({"time_s": 1.8e9 + read * fine_s, "device": "0", "domain": "gpu",
                         "power_w": level[read], "energy_j": exact[read]})
    return rows, float(exact[read[-1]])


@pytest.mark.parametrize("seed", range(5))
def test_honest_bursty_power_read_as_instants_is_explained(seed):
    """Bursts between readings: the trapezoid errs interval by interval, within its stated bound."""
    rows, true_j = _bursty(seed)
    curve, check = checked_curve(rows, max_gap_s=0.5, bucket_s=10.0, limit_w=1680.0)
    assert check.unexplained_j == 0 and check.repaired_windows == 0
    assert curve.total_j == pytest.approx(true_j, rel=1e-9)


@pytest.mark.parametrize("seconds", [2.4, 3.7, 7.0])
def test_a_short_chunk_of_a_counter_updating_every_second_is_explained(seconds):
    """A counter updated once a second, read every 100 ms, lags power by up to a second at the
    chunk's end: an honest short chunk (the last of a run) was refused as a dispute."""
    n = int(seconds / PERIOD_S)
    time_s = 1.8e9 + PERIOD_S * np.arange(n)
    exact = 600.0 * (time_s - time_s[0])
    counter = 600.0 * np.floor(time_s - time_s[0])  # the whole seconds' energy, updated each second
    rows = pd.DataFrame({"time_s": time_s, "device": "0", "domain": "gpu", "power_w": 600.0,
                         "energy_j": counter})
    curve, check = _check(rows, limit_w=1680.0)
    assert check.unexplained_j == 0, check
    assert curve.total_j == pytest.approx(exact[-1], abs=600.0)
