"""The steps.csv phase bounds (crosscheck/record.phase_bounds_j, summaries/bounds.py) against the
exact energy of random windows over random samples: an honest record is never outside them, and
a phase that shares every bucket with short evals is still bounded tightly.

The samples go through the real pipeline (summarise_chunk per chunk, merge_node), split into
chunks at random rows so that seams fall inside buckets; the truth is the whole device's curve
read at the windows (integrate.curve_from_samples), the same rule the meter's ledger uses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from olmo_green.crosscheck.record import phase_bounds_j
from olmo_green.integrate import curve_from_samples
from olmo_green.summaries.build import summarise_chunk
from olmo_green.summaries.merge import merge_node

BUCKET_S = 10.0


def _windows(rng: np.random.Generator, start_s: float, end_s: float,
             eval_s: tuple[float, float]) -> pd.DataFrame:
    """Train windows of 1-9 s and evals, with short idle gaps, back to back from start to end."""
    rows, t = [], start_s
    while t < end_s:
        phase = "eval" if rows and rows[-1][0] == "train" and rng.random() < 0.6 else "train"
        length = rng.uniform(*eval_s) if phase == "eval" else rng.uniform(1.0, 9.0)
        rows.append((phase, t, min(t + length, end_s)))
        t += length + (rng.uniform(0.0, 0.5) if rng.random() < 0.3 else 0.0)
    return pd.DataFrame(rows, columns=["phase", "time_start_s", "time_end_s"])


def _samples(rng: np.random.Generator, windows: pd.DataFrame, counter: bool) -> pd.DataFrame:
    """Two devices polled every 0.2-2 s; power by the phase at the instant, with noise."""
    frames = []
    for device in ("gpu0", "gpu1"):
        start = windows["time_start_s"].iloc[0] - rng.uniform(0, 5)
        time_s = start + np.cumsum(rng.uniform(0.2, 2.0, 400))
        where = np.searchsorted(windows["time_start_s"].to_numpy(), time_s, side="right") - 1
        inside = (where >= 0) & (time_s < windows["time_end_s"].to_numpy()[np.clip(where, 0, None)])
        phase = np.where(inside, windows["phase"].to_numpy()[np.clip(where, 0, None)], "idle")
        power = np.select([phase == "train", phase == "eval"], [420.0, 260.0], 90.0) + rng.normal(0, 15, 400)
        frame = pd.DataFrame({"time_s": time_s, "node": "n0", "device": device, "domain": "gpu",
                              "power_w": power, "source": "nvml"})
        if counter:
            frame["energy_j"] = 1e6 + np.r_[0.0, np.cumsum(np.diff(time_s) * (power[1:] + power[:-1]) / 2)]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _timeline(samples: pd.DataFrame, rng: np.random.Generator, max_buckets: float):
    """The node's domain curve from summaries of the samples cut into 3 chunks at random times."""
    cuts = np.sort(rng.uniform(samples["time_s"].min(), samples["time_s"].max(), 2))
    chunk = np.searchsorted(cuts, samples["time_s"].to_numpy())
    parts = [summarise_chunk(samples[chunk == i].reset_index(drop=True), BUCKET_S) for i in range(3)]
    devices = pd.concat([p.devices.assign(order=i) for i, p in enumerate(parts)], ignore_index=True)
    domains = pd.concat([p.domains for p in parts], ignore_index=True)
    return merge_node("n0", devices, domains, BUCKET_S, max_buckets=max_buckets).timeline


def _truth_j(samples: pd.DataFrame, windows: pd.DataFrame) -> float:
    total = 0.0
    for _, rows in samples.groupby("device"):
        curve = curve_from_samples(rows.sort_values("time_s").reset_index(drop=True), max_gap_s=60.0)
        total += float(curve.energy_between_j(windows["time_start_s"].to_numpy(),
                                              windows["time_end_s"].to_numpy()).sum())
    return total


@pytest.mark.parametrize("counter", [False, True])
@pytest.mark.parametrize("max_buckets", [np.inf, 4])
@pytest.mark.parametrize("seed", range(8))
def test_honest_windows_are_inside_the_bounds(seed, counter, max_buckets):
    rng = np.random.default_rng(seed)
    windows = _windows(rng, 1.7e9 + rng.uniform(0, 100), 1.7e9 + 400, (0.1, 4.0))
    samples = _samples(rng, windows, counter)
    timeline = _timeline(samples, rng, max_buckets)
    for phase in ("train", "eval"):
        mine = windows[windows["phase"] == phase]
        low, high = phase_bounds_j(timeline, mine["time_start_s"].to_numpy(), mine["time_end_s"].to_numpy())
        truth = _truth_j(samples, mine)
        slack = 1e-9 * max(high, 1.0)
        assert low - slack <= truth <= high + slack, (phase, low, truth, high)


def test_short_evals_in_every_bucket_leave_train_tightly_bounded():
    """No bucket is wholly train, yet train is bounded from below to within the evals' seconds
    (halving it falls outside). From above the least power drawn bounds it, weaker where the
    loop idles between steps: booking all the evals' energy to train just falls outside."""
    rng = np.random.default_rng(7)
    windows = _windows(rng, 1.7e9, 1.7e9 + 600, (0.2, 0.6))
    train = windows[windows["phase"] == "train"]
    samples = _samples(rng, windows, counter=True)
    timeline = _timeline(samples, rng, np.inf)
    low, high = phase_bounds_j(timeline, train["time_start_s"].to_numpy(), train["time_end_s"].to_numpy())
    truth = _truth_j(samples, train)
    assert low <= truth <= high
    assert low >= 0.85 * truth, (low, truth)  # the whole-bucket rule alone gave low ~ 0 here
    evals = windows[windows["phase"] == "eval"]
    assert high < truth + _truth_j(samples, evals)


def test_a_curve_without_power_bounds_keeps_the_whole_bucket_rule():
    """Timelines built without bounds (a trace's): a partly covered segment allows [0, E]."""
    rng = np.random.default_rng(3)
    windows = _windows(rng, 1.7e9, 1.7e9 + 200, (0.2, 0.6))
    samples = _samples(rng, windows, counter=False)
    timeline = _timeline(samples, rng, np.inf)
    for curve in timeline:
        curve.ceiling_w = curve.floor_w = None
    train = windows[windows["phase"] == "train"]
    low, high = phase_bounds_j(timeline, train["time_start_s"].to_numpy(), train["time_end_s"].to_numpy())
    assert low < 0.5 * _truth_j(samples, train) <= high
