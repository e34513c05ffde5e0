"""steps.csv's windows against the telemetry's time span (crosscheck/windows.py): windows none of
which comes near the telemetry are refused (report) and named (--verify); rows that start after
the last sample (a run killed before its samples were flushed) leave the tokens, with a note."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from olmo_green import record as rr
from olmo_green.crosscheck import windows
from olmo_green.integrate import GAP_FACTOR, EnergyCurve
from olmo_green.reports import account_run
from tests.crosscheck.records import first_chunk, report, steady_run, verify
from tests.simulated_runs import TOKENS

STEPS = 10
INTERVAL_S = 0.01  # steady_run's sampling interval


@pytest.fixture(scope="module")
def steady(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("windows") / "run"
    steady_run(run, steps=STEPS)
    return run


def _copy(steady: Path, tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(steady, run)
    return run


def _edit_steps(run: Path, edit) -> None:
    path = run / rr.STEPS_FILE
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = edit(frame)
    frame.to_csv(path, index=False)


def _shift(seconds: float):
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        for column in ("time_start_s", "time_end_s"):
            frame[column] = [repr(float(v) + seconds) for v in frame[column]]
        return frame

    return edit


def _span(run: Path) -> tuple[float, float]:
    _, samples = first_chunk(run)
    return float(samples["time_s"].min()), float(samples["time_s"].max())


def _raw_gpu_j(run: Path) -> float:
    """Each device's counter span, straight off the chunk."""
    _, samples = first_chunk(run)
    gpu = samples[samples["domain"] == "gpu"]
    return float(gpu.groupby("device")["energy_j"].agg(lambda s: s.max() - s.min()).sum())


def _kill_at(run: Path, time_s: float) -> None:
    """What a SIGKILL before the last flush leaves: the samples up to `time_s` (the rest never
    reached the disk), every steps.csv row already written, and no closing idle row."""
    path, samples = first_chunk(run)
    samples[samples["time_s"] <= time_s].to_parquet(path, index=False)
    for summary in run.glob(f"{rr.TELEMETRY_DIR}/*.*.parquet"):
        if not summary.name.split(".")[1].isdigit():
            summary.unlink()  # summaries of the whole chunk: a killed run's are rebuilt from its samples
    _edit_steps(run, lambda f: f[f["phase"] == "train"])


# ---- no window near the telemetry: steps.csv and the telemetry are not of one run -------------


@pytest.mark.parametrize("seconds", [1000.0, -1000.0])
def test_steps_of_another_time_are_refused(steady, tmp_path, seconds):
    run = _copy(steady, tmp_path)
    _edit_steps(run, _shift(seconds))
    code, out = report(str(run), "--format", "json")
    assert code != 0
    assert len(out.strip().splitlines()) == 1
    assert "steps.csv" in out and "not of the same run" in out
    code, out = verify(run)
    assert code == 1
    assert "steps.csv: none of its" in out


def test_windows_just_after_the_telemetry_are_a_killed_run_not_a_refusal(steady, tmp_path):
    """Every window starts after the last sample but within the flush interval (config.yaml's
    2 s): a run killed before its first steps' samples were flushed. Not refused; no window was
    measured, so no breakdown and no tokens, and the total is the telemetry's."""
    run = _copy(steady, tmp_path)
    first, last = _span(run)
    start = float(pd.read_csv(run / rr.STEPS_FILE)["time_start_s"].min())
    _edit_steps(run, _shift(last - start + 0.5))
    account = account_run(run)
    assert account.tokens is None
    assert any("start after the telemetry ends" in n for n in account.notes)
    assert account.gpu_energy_j == pytest.approx(_raw_gpu_j(run), rel=1e-6)
    assert verify(run)[0] == 0


def test_the_flush_interval_is_config_yamls(steady, tmp_path):
    """The same 5 s shift: beyond a 2 s flush interval it is refused, within a 10 s one it is not."""
    run = _copy(steady, tmp_path)
    _, last = _span(run)
    start = float(pd.read_csv(run / rr.STEPS_FILE)["time_start_s"].min())
    _edit_steps(run, _shift(last - start + 5.0))
    assert report(str(run))[0] != 0
    config = yaml.safe_load((run / rr.CONFIG_FILE).read_text())
    config["telemetry"]["flush_interval_s"] = 10.0
    (run / rr.CONFIG_FILE).write_text(yaml.safe_dump(config, sort_keys=False))
    assert report(str(run))[0] == 0


# ---- rows after the last sample: their tokens are left out ----------------------------------------


def test_killed_run_rows_after_its_telemetry_leave_the_tokens(steady, tmp_path):
    """Killed in the middle of step 8 with its samples from then on lost: steps 9 and 10 were
    measured by nothing. A note, not a finding; the total is the telemetry's, unchanged."""
    run = _copy(steady, tmp_path)
    steps = pd.read_csv(run / rr.STEPS_FILE)
    eighth = steps[steps["step"] == 8].iloc[0]
    _kill_at(run, (eighth["time_start_s"] + eighth["time_end_s"]) / 2)

    account = account_run(run)
    assert account.tokens == 8 * TOKENS  # was 10 x: energy per token 20 % low
    notes = [n for n in account.notes if "start after the telemetry ends" in n]
    assert len(notes) == 1 and notes[0].startswith("2 step(s)")
    assert "the energy of 1 step(s) that run on past it is read off the telemetry" in notes[0]  # step 8
    assert account.gpu_energy_j == pytest.approx(_raw_gpu_j(run), rel=1e-6)
    assert sum(account.phases_j.values()) == pytest.approx(account.gpu_energy_j, rel=1e-9)
    assert account.phases_j["outside"] >= 0
    assert list(account.steps["step"]) == list(range(1, 9))
    code, out = verify(run)
    assert code == 0, out  # step 8's recorded energy, half of it unmeasured, is not held against the total


def test_an_untouched_record_keeps_every_row(steady):
    account = account_run(steady)
    assert account.tokens == STEPS * TOKENS
    assert not any("telemetry ends" in n for n in account.notes)


# ---- the rule itself, on a made-up span ----------------------------------------------------------


def _energy(first: float, last: float, interval_s: float | None):
    curve = EnergyCurve("n0", "gpu", "gpu", "nvml", "counter", np.array([first, last]), np.array([0.0, 1.0]))
    return SimpleNamespace(timeline=lambda: [curve], devices=[curve], samples=0, flush_s=None,
                           max_gap_s=GAP_FACTOR * interval_s if interval_s else None)


def _windows(*starts: float, length: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame({"time_start_s": starts, "time_end_s": [s + length for s in starts],
                         "phase": "train", "tokens": 10.0})


def test_a_row_within_one_interval_after_the_last_sample_is_kept():
    energy = _energy(100.0, 200.0, interval_s=1.0)
    kept = windows.measured_steps(energy, _windows(150.0, 199.5, 200.5, 201.5))
    assert list(kept["time_start_s"]) == [150.0, 199.5, 200.5]
    assert kept.attrs[windows.AFTER][0] == 1


def test_windows_before_the_first_sample_within_a_gap_are_near():
    energy = _energy(100.0, 200.0, interval_s=1.0)
    # ending GAP_FACTOR intervals before the first sample: the meter's own limit of continuity
    assert windows.disjoint_finding(energy, _windows(100.0 - GAP_FACTOR - 1.0)) is None
    assert windows.disjoint_finding(energy, _windows(100.0 - GAP_FACTOR - 1.5)) is not None


def test_no_telemetry_or_no_windows_is_no_finding():
    assert windows.disjoint_finding(SimpleNamespace(timeline=lambda: [], devices=[]), _windows(1.0)) is None
    assert windows.disjoint_finding(_energy(100.0, 200.0, 1.0), _windows().iloc[:0]) is None
