"""Issue 24, finding B: a train row's `mfu` edited to another plausible value (0.3 to 0.999) passed
checks.py's (0, 1] rule, moved the reported MFU and `report --verify` said OK. The trainer writes
mfu x seconds / tokens as one constant per attempt (crosscheck/mfu.py): a row off it is named."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from olmo_green import record as rr
from olmo_green.cli import cli
from olmo_green.crosscheck import mfu_findings
from olmo_green.hardware import load_profile
from olmo_green.model.build import build_parts
from olmo_green.model.distributed import DistEnv
from olmo_green.model.steprows import StepRows
from olmo_green.model.trainer import Trainer
from olmo_green.record import window_mfu
from olmo_green.record.linelog import StepLog
from olmo_green.reports.account import DeviceEnergy, RunAccount
from olmo_green.reports.efficiency import run_mfu
from olmo_green.reports.steps import clean_steps
from tests.crosscheck.records import verify
from tests.model.helpers import byte_data, small_config
from tests.record.golden_runs import make_run

START_S = 1_767_225_600.0


def _set_mfu(run, step: int, value: str) -> str:
    """Edit the mfu cell of train step `step` as text (a user's editor); the old text back."""
    steps = pd.read_csv(run / "steps.csv", dtype=str, keep_default_na=False)
    row = steps.index[(steps["step"] == str(step)) & (steps["phase"] == "train")][0]
    old, steps.loc[row, "mfu"] = steps.loc[row, "mfu"], value
    steps.to_csv(run / "steps.csv", index=False)
    return old


def _report_json(run) -> dict:
    result = CliRunner().invoke(cli, ["report", str(run), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["runs"][0]


def test_a_plausible_mfu_edit_publishes_no_mfu_and_fails_verify_naming_the_step(tmp_path):
    run = make_run(tmp_path, "olmo2-a100")  # measured on the A100 profile, every train row with mfu
    honest = _report_json(run)
    assert honest["mfu"] is not None and verify(run)[0] == 0  # the honest record passes
    old = _set_mfu(run, 4, "0.999")
    assert 0.0 < float(old) < 0.5  # the edit is plausible: inside (0, 1], so checks.py passes it
    report = _report_json(run)
    assert report["mfu"] is None  # before: the edited cell moved the run's MFU
    assert honest["mfu_note"] == "" and "steps.csv step 4 (attempt 0): mfu disagrees" in report["mfu_note"]
    markdown = CliRunner().invoke(cli, ["report", str(run)]).output
    line = next(line for line in markdown.splitlines() if "MFU" in line)
    assert "MFU n/a (" in line and "steps.csv step 4 (attempt 0): mfu disagrees" in line
    assert report["gpu_energy_mwh"] == pytest.approx(honest["gpu_energy_mwh"])  # energy untouched
    code, out = verify(run)
    named = [line for line in out.splitlines() if "mfu disagrees" in line]
    assert code == 1 and len(named) == 1 and named[0].startswith("steps.csv step 4 (attempt 0)")


def test_an_edit_of_a_tenth_of_a_percent_is_named_with_every_edited_step(tmp_path):
    run = make_run(tmp_path, "olmo2-a100")
    for step in (3, 17):
        _set_mfu(run, step, repr(float(_set_mfu(run, step, "")) * 1.002))
    code, out = verify(run)
    named = [line for line in out.splitlines() if "mfu disagrees" in line]
    assert code == 1 and len(named) == 1 and named[0].startswith("steps.csv steps 3, 17 (attempt 0)")


def _write_attempt(run, rng, world_size: int, peak: float, first: int, last: int, t0: float) -> float:
    """One process's rows through the trainer's writer (StepLog): windows from a microsecond to a
    second at UNIX times (a tiny model on a CPU test), tokens for an MFU of 5 to 60 %, an eval row,
    a zero-length and a token-less train row."""
    log = StepLog(run)
    inputs = {"flops_per_token": 6.1e5, "peak_flops_per_device": peak, "world_size": world_size}
    t = t0
    for step in range(first, last + 1):
        seconds = float(10.0 ** rng.uniform(-6, 0))
        tokens = max(1, int(rng.uniform(0.05, 0.6) * peak * world_size / 6.1e5 * seconds))
        log.append({"step": step, "phase": "train", "time_start_s": t, "time_end_s": t + seconds,
                    "tokens": tokens, "energy_j": 5.0, **inputs})
        t += seconds
    log.append({"step": last, "phase": "eval", "time_start_s": t, "time_end_s": t + 1.0, "tokens": 0})
    log.append({"step": last + 1, "phase": "train", "time_start_s": t + 1, "time_end_s": t + 1,
                "tokens": 64, **inputs})  # zero-length: no mfu written, nothing to judge
    log.append({"step": last + 1, "phase": "train", "time_start_s": t + 1, "time_end_s": t + 2, **inputs})
    log.close()
    return t + 2


def _account(gpus: int) -> RunAccount:
    devices = [DeviceEnergy("n0", str(i), "gpu", "counter", 1e6, 30.0, 0, 0, 0.0, 0.0) for i in range(gpus)]
    return RunAccount(name="r", path="r", hardware="h100", gpu_type="H100", method="counter",
                      gpu_energy_j=gpus * 1e6, pue=1.1, pue_source="", carbon=[], devices=devices)


@pytest.mark.parametrize("seed", range(20))
def test_an_honest_record_of_short_windows_and_attempts_of_other_world_sizes_is_never_flagged(tmp_path, seed):
    rng = np.random.default_rng(seed)
    end = _write_attempt(tmp_path, rng, 8, 9.89e14, 1, 40, START_S - rng.uniform(0, 2e8))  # 2019 to 2026
    end = _write_attempt(tmp_path, rng, 2, 9.89e14, 31, 60, end + 5)  # resumed from step 30 on 2 GPUs
    _write_attempt(tmp_path, rng, 1, 3.12e14, 61, 90, end + 5)  # and on one GPU of another peak
    steps = clean_steps(rr.read_steps(tmp_path))
    assert steps["attempt"].nunique() == 3 and steps["superseded"].sum() == 15
    assert steps["mfu"].notna().sum() == 100  # every train row with tokens and a window has one
    assert mfu_findings(steps) == []
    # config.yaml holds the last attempt's model and peak: one GPU of 3.12e14 implies 1 device
    assert mfu_findings(steps, 6.1e5 / 3.12e14) == []
    # run_mfu's "no mfu" rule still answers first for the token-less rows; without them, a figure
    mfu, note = run_mfu(load_profile("h100"), _account(8), steps[steps["tokens"].notna()])
    assert mfu is not None and note == ""


def test_superseded_eval_and_token_less_rows_are_not_judged(tmp_path):
    rng = np.random.default_rng(0)
    end = _write_attempt(tmp_path, rng, 8, 9.89e14, 1, 40, START_S)
    _write_attempt(tmp_path, rng, 2, 9.89e14, 31, 60, end + 5)
    steps = clean_steps(rr.read_steps(tmp_path))
    redone = steps.index[steps["superseded"] & (steps["phase"] == "train")][0]
    steps.loc[redone, "mfu"] *= 2  # a step a later attempt redid: no figure reads it
    steps.loc[steps["phase"] == "eval", "mfu"] = 0.5  # an eval window has no FLOPs constant
    steps.loc[steps["tokens"].isna(), "mfu"] = 0.5  # no tokens: no constant to compute
    assert mfu_findings(steps) == []
    judged = (steps["phase"] == "train") & steps["tokens"].notna() & steps["mfu"].notna()
    current = steps.index[(steps["attempt"] == 1) & judged][-1]
    steps.loc[current, "mfu"] *= 2
    (line,) = mfu_findings(steps)
    assert line.startswith("steps.csv step 60 (attempt 1): mfu disagrees")
    assert "median of its 30 train rows" in line  # its own attempt's constant, not attempt 0's


def test_an_overlapping_window_is_judged_on_the_window_its_writer_saw():
    """clean_steps clips a start that overlaps an earlier row (a merged file); the cell was
    computed on the unclipped window, so that is the one compared."""
    inputs = {"flops_per_token": 6.1e9, "peak_flops_per_device": 9.89e14, "world_size": 4, "tokens": 4e5}
    windows = [(START_S, START_S + 3.0), (START_S + 2.0, START_S + 9.0), (START_S + 9.0, START_S + 10.0)]
    rows = [{"step": i + 1, "phase": "train", "time_start_s": a, "time_end_s": b, "attempt": 0}
            for i, (a, b) in enumerate(windows)]
    frame = pd.DataFrame([{**r, "tokens": 4e5, "mfu": window_mfu({**r, **inputs})} for r in rows])
    steps = clean_steps(frame)
    assert steps["overlap_s"].iloc[1] == 1.0
    assert mfu_findings(steps) == []


def test_a_million_steps_are_judged_at_once_and_an_edit_among_them_is_found():
    n = 1_000_000
    rng = np.random.default_rng(1)
    seconds = rng.uniform(0.05, 2.0, n)
    start = START_S + np.r_[0.0, np.cumsum(seconds)[:-1]]
    share = rng.uniform(0.05, 0.6, n)  # of peak: every cell inside checks.py's (0, 1]
    tokens = np.maximum(1.0, np.floor(share * 9.89e14 * 256 / 6.1e9 * seconds))
    mfu = tokens / ((start + seconds) - start) * 6.1e9 / (9.89e14 * 256)
    steps = pd.DataFrame({"step": np.arange(1, n + 1, dtype=float), "phase": "train", "time_start_s": start,
                          "time_end_s": start + seconds, "tokens": tokens, "attempt": 0, "mfu": mfu,
                          "superseded": False})
    assert mfu_findings(steps) == [] and mfu_findings(steps, 6.1e9 / 9.89e14) == []  # 256 devices
    steps.loc[123_456, "mfu"] *= 1.01
    assert mfu_findings(steps)[0].startswith("steps.csv step 123457 (attempt 0)")


@pytest.mark.usefixtures("one_thread")
def test_the_trainer_s_own_rows_on_the_real_clock_agree_and_one_edit_among_them_is_found(tmp_path):
    config = small_config(byte_data(tmp_path / "data"), "max_steps=6", "save_interval=2", "eval_interval=3")
    run = tmp_path / "run"
    run.mkdir()
    peak = load_profile("h100").peak_flops_per_device  # on CPU: windows of milliseconds, a tiny model
    Trainer(build_parts(config, run, torch.device("cpu"), DistEnv(), [StepRows()], peak)).fit()
    steps = clean_steps(rr.read_steps(run))
    assert steps.loc[steps["phase"] == "train", "mfu"].notna().sum() == 6
    assert mfu_findings(steps) == []
    _set_mfu(run, 5, repr(float(_set_mfu(run, 5, "")) * 1.01))
    (line,) = mfu_findings(clean_steps(rr.read_steps(run)))
    assert line.startswith("steps.csv step 5 (attempt 0): mfu disagrees")


@pytest.mark.parametrize("cell", ["abc", "-0.5", "0", "inf"])
def test_a_cell_the_report_refuses_also_fails_verify(tmp_path, cell):
    """The report gave no MFU for these (checks.py's rule) but `--verify` said OK."""
    run = make_run(tmp_path, "olmo2-a100")
    _set_mfu(run, 4, cell)
    assert _report_json(run)["mfu"] is None
    code, out = verify(run)
    assert code == 1 and "steps.csv step 4: mfu" in out, out


def _set_attempt(run, rows: slice, attempt: str, mfu: str | None = None) -> None:
    steps = pd.read_csv(run / "steps.csv", dtype=str, keep_default_na=False)
    steps.loc[steps.index[rows], "attempt"] = attempt
    if mfu is not None:
        steps.loc[steps.index[-1], "mfu"] = mfu
    steps.to_csv(run / "steps.csv", index=False)


def test_a_row_edited_alone_into_an_attempt_of_its_own_implies_no_whole_world_size(tmp_path):
    """The per-attempt constant cannot judge a lone row; config.yaml's model and peak can: the
    raised cell (0.9 for ~7e-6) implies 1.5e-5 devices. Before: the run's MFU became 0.036."""
    run = make_run(tmp_path, "olmo2-a100")
    honest = _report_json(run)
    _set_attempt(run, slice(-1, None), "1", mfu="0.9")
    report = _report_json(run)
    assert report["mfu"] is None and "attempt 1: its mfu cells imply" in report["mfu_note"]
    assert report["gpu_energy_mwh"] == pytest.approx(honest["gpu_energy_mwh"])
    code, out = verify(run)
    assert code == 1 and "not a whole number" in out


def test_an_attempt_cell_that_goes_back_in_time_is_a_finding(tmp_path):
    run = make_run(tmp_path, "olmo2-a100")
    _set_attempt(run, slice(None, -1), "1")  # every row attempt 1 but the last, left at 0
    code, out = verify(run)
    assert code == 1 and "steps.csv step 25: attempt 0 starts after a row of attempt 1" in out


def test_an_honest_resumed_record_passes_every_mfu_check(tmp_path):
    from tests.record.golden_runs import RESUMED

    run = make_run(tmp_path, RESUMED)  # attempt 1 resumed from step 10 after a kill at step 12
    steps = clean_steps(rr.read_steps(run))
    assert steps["attempt"].nunique() == 2
    assert mfu_findings(steps) == [] and verify(run)[0] == 0
