"""Issue 23's done-when check, end to end through the CLI: an nvidia-smi log as `-lms 100` writes it
(no index column, local timestamps, `W` units) gives the energy of an independent trapezoid, with
its 1 s swings reported.

The log: 8 GPUs training at ~690 W in 1 s steps, each tenth step a 3 s
checkpoint at ~120 W; nvidia-smi queries the GPUs one after the other (rows of a
round 2 ms apart, rounds every 100 ms with a few ms of jitter) and prints the
node's local time (Europe/Berlin, UTC+2 in July) to the millisecond. One reading
is `[N/A]`: a gap, counted, never 0 W.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from click.testing import CliRunner

from olmo_green.cli import cli

GPUS, ROUNDS = 8, 6000  # 10 minutes at 100 ms
T0_MS = 1_722_038_010_000  # 2024-07-27 00:33:30 UTC
BERLIN = timezone(timedelta(hours=2))  # CEST


def _log(path) -> tuple[np.ndarray, np.ndarray]:
    """Writes the log; returns the UTC times (s) and power (W, NaN where N/A) per GPU, as printed."""
    rng = np.random.default_rng(7)
    round_ms = T0_MS + np.arange(ROUNDS) * 100 + rng.integers(-3, 4, ROUNDS)
    time_ms = round_ms[:, None] + 2 * np.arange(GPUS)[None, :]  # (rounds, gpus)
    step = (time_ms - T0_MS) // 1000
    checkpoint = (step % 10 >= 7)  # 3 s of each 10
    power = np.where(checkpoint, 120.0, 690.0) + rng.uniform(-15, 15, time_ms.shape)
    power = np.round(power, 2)
    power[2000, 3] = np.nan
    lines = ["timestamp, power.draw [W]"]
    for r in range(ROUNDS):
        for g in range(GPUS):
            local = datetime.fromtimestamp(time_ms[r, g] / 1000, BERLIN)
            stamp = local.strftime("%Y/%m/%d %H:%M:%S.") + f"{time_ms[r, g] % 1000:03d}"
            value = "[N/A]" if np.isnan(power[r, g]) else f"{power[r, g]:.2f} W"
            lines.append(f"{stamp}, {value}")
    path.write_text("\n".join(lines) + "\n")
    return time_ms / 1000.0, power


def _trapezoid_j(time_s: np.ndarray, power: np.ndarray) -> float:
    total = 0.0
    for g in range(GPUS):
        keep = np.isfinite(power[:, g])
        total += float(np.trapezoid(power[keep, g], time_s[keep, g]))
    return total


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = tmp_path_factory.mktemp("smi") / "gpu-node-07.csv"
    time_s, power = _log(path)
    result = CliRunner().invoke(cli, ["report", "--trace", str(path), "--trace-tz", "Europe/Berlin",
                                      "--intensity", "0.5", "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["runs"][0], _trapezoid_j(time_s, power)


def test_the_energy_is_the_independent_trapezoid(report):
    run, want_j = report
    assert run["gpu_energy_mwh"] * 3.6e9 == pytest.approx(want_j, rel=1e-6)
    assert run["trace_format"] == "nvidia-smi" and run["trace"]["files"][0]["format_sniffed"]
    assert len(run["devices"]) == GPUS and run["trace"]["files"][0]["node"] == "gpu-node-07"


def test_the_gap_is_counted_not_zero(report):
    run, _ = report
    assert run["trace"]["files"][0]["gaps_na"] == 1
    assert any("1 reading(s) N/A" in note for note in run["notes"])


def test_the_1s_swings_are_reported(report):
    run, _ = report
    swings = run["power_swings"]
    one = next(w for w in swings["windows"] if w["window_s"] == 1.0)
    assert one["available"], one
    # each checkpoint: 8 GPUs fall ~570 W within a second; more than half the peak
    assert one["drop_w"] > 0.5 * one["peak_w"] and one["drop_pct_of_peak"] > 50
    assert one["rise_w"] > 0.5 * one["peak_w"]
    assert one["drop_w"] == pytest.approx(8 * 570, rel=0.05)
    assert one["drop_time_s"] is not None and T0_MS / 1000 < one["drop_time_s"] < T0_MS / 1000 + 600
