"""The counter check at a counter's falls (crosscheck/counter.py).

An honest reset (a driver reload) keeps its new reading: energy since the restart, which power
cannot confirm. A garbage counter falls at every other reading; before, each fall's "new
reading" (up to 1e9 J in 10 ms) was taken as energy and the run came out 1e5x too big at exit 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from olmo_green.crosscheck.counter import checked_curve

PERIOD_S = 0.01
POWER_W = 300.0


def _device(n: int = 3000, counter=None) -> pd.DataFrame:
    """n readings of one GPU at a steady 300 W, 10 ms apart, its counter the exact integral."""
    time_s = 1.8e9 + PERIOD_S * np.arange(n)
    energy_j = POWER_W * PERIOD_S * np.arange(n) if counter is None else counter
    return pd.DataFrame({"time_s": time_s, "device": "0", "domain": "gpu", "power_w": POWER_W,
                         "energy_j": energy_j})


def _total_j(rows: pd.DataFrame) -> tuple[float, int]:
    curve, check = checked_curve(rows, max_gap_s=5 * PERIOD_S, bucket_s=10.0)
    return curve.total_j, check.repaired_windows


@pytest.mark.parametrize("high_j", [50.0, 1e9])
def test_a_garbage_counter_falling_at_every_other_reading_is_replaced_by_power(high_j):
    honest_j = POWER_W * PERIOD_S * 2999
    garbage = np.random.default_rng(0).uniform(0.0, high_j, 3000)
    total_j, repaired = _total_j(_device(counter=garbage))
    assert total_j == pytest.approx(honest_j, rel=0.01) and repaired >= 3


def test_an_honest_reset_keeps_the_counter_and_is_not_a_repair():
    counter = POWER_W * PERIOD_S * np.arange(3000)
    counter[1500:] -= counter[1500] - 1.0  # a driver reload: counts on from 1 J
    total_j, repaired = _total_j(_device(counter=counter))
    assert repaired == 0
    assert total_j == pytest.approx(POWER_W * PERIOD_S * 2998 + 1.0, rel=1e-9)
