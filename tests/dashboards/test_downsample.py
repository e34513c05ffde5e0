"""Min/max envelope downsampling keeps every bucket's extremes and marks gaps."""

import numpy as np

from olmo_green.dashboards.downsample import buckets_for, envelope


def _bucket_extremes(x, y, x0, width, buckets):
    bucket = np.minimum(((x - x0) / width).astype(int), buckets - 1)
    return {b: (y[bucket == b].min(), y[bucket == b].max()) for b in np.unique(bucket)}


def test_envelope_keeps_min_and_max_of_every_bucket():
    rng = np.random.default_rng(1)
    x = np.sort(rng.uniform(0, 1000, 200_000))
    y = rng.standard_normal(len(x))
    env = envelope(x, y, buckets=500)
    width = (x[-1] - x[0]) / 500
    shown = np.isfinite(env.y)
    kept = _bucket_extremes(env.x[shown], env.y[shown], x[0], width, 500)
    for b, (low, high) in _bucket_extremes(x, y, x[0], width, 500).items():
        assert kept[b] == (low, high)


def test_envelope_keeps_a_single_sample_spike_and_the_global_extremes():
    x = np.arange(1_000_000, dtype=float)
    y = np.full(len(x), 300.0)
    y[123_457] = 700.0  # one sample in a million
    y[654_321] = 5.0
    env = envelope(x, y, buckets=1000)
    assert np.nanmax(env.y) == 700.0 and np.nanmin(env.y) == 5.0
    assert env.x[np.nanargmax(env.y)] == 123_457.0
    assert len(env.x) <= 2 * 1000 and env.raw_points == len(x)


def test_envelope_points_stay_in_x_order():
    x = np.arange(100_000, dtype=float)
    y = np.sin(x / 50.0)
    env = envelope(x, y, buckets=300)
    assert np.all(np.diff(env.x) >= 0)


def test_small_series_is_drawn_as_is():
    x = np.arange(100.0)
    env = envelope(x, x * 2, buckets=100)
    assert env.buckets == 0 and np.array_equal(env.y, x * 2)


def test_gap_in_data_becomes_a_break_not_a_line():
    x = np.r_[np.arange(0, 10_000.0), np.arange(50_000.0, 60_000.0)]
    env = envelope(x, np.ones(len(x)), buckets=600)
    breaks = np.flatnonzero(np.isnan(env.y))
    assert len(breaks) == 1
    assert env.x[breaks[0] - 1] < 10_000 and env.x[breaks[0] + 1] >= 50_000


def test_nan_values_are_dropped_before_bucketing():
    x = np.arange(10_000.0)
    y = np.where(x % 7 == 0, np.nan, 1.0)
    env = envelope(x, y, buckets=100)
    assert env.raw_points == int(np.isfinite(y).sum())


def test_bucket_count_shrinks_with_many_traces_within_bounds():
    assert buckets_for(1, 200_000) == 2000
    assert buckets_for(400, 200_000) == 250
    assert buckets_for(100_000, 200_000) == 10
