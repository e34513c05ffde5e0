"""Issue #24 finding 2, the other direction: steps.csv energies edited DOWN are not trusted.

The report's curves are held at 10 s or wider (summaries/build.RESOLUTIONS_S), so the record has
15 s of train steps between its evals: they cover whole buckets and the telemetry can bound the
phase (crosscheck/record.phase_bounds_j). One record (~35 s to write), copied for each test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from olmo_green import record as rr
from olmo_green.crosscheck.record import phase_bounds_j
from olmo_green.reports import account_run
from olmo_green.reports.build import run_energy
from olmo_green.reports.steps import clean_steps
from tests.crosscheck.records import steady_run, verify


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    path = tmp_path_factory.mktemp("edited_down") / "run"
    steady_run(path, hardware="lumi", steps=300, eval_every=150)
    return path


@pytest.fixture
def run(written, tmp_path):
    return Path(shutil.copytree(written, tmp_path / "run"))


def _edit_train(run, scale: float) -> None:
    steps = pd.read_csv(run / "steps.csv")
    train = steps["phase"].fillna("train") == "train"
    steps.loc[train, "energy_j"] = steps.loc[train, "energy_j"] * scale
    steps.to_csv(run / "steps.csv", index=False)


def test_honest_record_has_no_step_finding(run):
    code, out = verify(run)
    assert code == 0, out
    assert not any("steps.csv" in n for n in account_run(run).notes)


@pytest.mark.parametrize("scale", [0.1, 0.0])
def test_train_energy_edited_down_is_a_finding_and_read_off_the_telemetry(run, scale):
    honest = account_run(run)
    _edit_train(run, scale)
    account = account_run(run)
    assert any("steps.csv: the train windows" in n and "edited" in n for n in account.notes), account.notes
    # Read off the curves now: train (99 % of the run) matches the untampered record; the short
    # evals are coarse by the buckets their edges fall in, and stay inside the telemetry's bounds.
    assert account.phases_j["train"] == pytest.approx(honest.phases_j["train"], rel=0.02)
    assert 0 <= account.phases_j["outside"] <= 0.02 * account.gpu_energy_j
    steps = clean_steps(rr.read_steps(run))
    evals = steps[steps["phase"] == "eval"]
    low, high = phase_bounds_j(run_energy(run).timeline(), evals["time_start_s"].to_numpy(float),
                               evals["time_end_s"].to_numpy(float))
    assert low <= honest.phases_j["eval"] <= high and low <= account.phases_j["eval"] <= high
    code, out = verify(run)
    assert code == 1 and "steps.csv" in out and "was steps.csv edited?" in out


@pytest.fixture(scope="module")
def frequent_evals(tmp_path_factory):
    """An eval every 2.5 s (every 25 steps of 0.1 s, the simulate default's rhythm on short steps):
    every 10 s bucket holds some eval, so no bucket is wholly train."""
    path = tmp_path_factory.mktemp("frequent_evals") / "run"
    steady_run(path, hardware="lumi", steps=300, eval_every=25)
    return path


def test_frequent_evals_honest_record_has_no_step_finding(frequent_evals):
    code, out = verify(frequent_evals)
    assert code == 0, out


@pytest.mark.parametrize("scale", [0.5, 0.8])
def test_train_edited_down_with_an_eval_in_every_bucket_is_a_finding(frequent_evals, tmp_path, scale):
    run = Path(shutil.copytree(frequent_evals, tmp_path / "run"))
    steps = clean_steps(rr.read_steps(run))
    buckets = (steps["time_start_s"] // 10).astype(int)
    assert set(buckets[steps["phase"] == "eval"]) >= set(buckets[steps["phase"] == "train"]) - \
        {buckets.min(), buckets.max()}, "the record must have an eval in every inner bucket"
    honest = account_run(run)
    _edit_train(run, scale)
    account = account_run(run)
    assert any("steps.csv: the train windows" in n for n in account.notes), account.notes
    assert account.phases_j["train"] == pytest.approx(honest.phases_j["train"], rel=0.05)
    code, out = verify(run)
    assert code == 1 and "was steps.csv edited?" in out



def _blank_one_train_row(steps: pd.DataFrame) -> None:
    steps.loc[steps.index[steps["phase"].fillna("train") == "train"][3], "energy_j"] = float("nan")


def _negative_one_train_row(steps: pd.DataFrame) -> None:
    steps.loc[steps.index[steps["phase"].fillna("train") == "train"][3], "energy_j"] = -5.0


@pytest.mark.parametrize("hide", [_blank_one_train_row, _negative_one_train_row])
def test_one_blanked_or_negative_cell_does_not_hide_an_edit_of_the_others(run, hide):
    """The phase check runs over the rows that have an energy: blanking one cell (or making it
    negative, itself a finding) used to switch it off, and `--verify` said OK on an edited file."""
    honest = account_run(run)
    _edit_train(run, 0.1)
    steps = pd.read_csv(run / "steps.csv")
    hide(steps)
    steps.to_csv(run / "steps.csv", index=False)
    account = account_run(run)
    assert any("steps.csv: the train windows" in n for n in account.notes), account.notes
    assert account.phases_j["train"] == pytest.approx(honest.phases_j["train"], rel=0.02)
    code, out = verify(run)
    assert code == 1 and "was steps.csv edited?" in out


def test_a_negative_energy_alone_is_a_finding_and_a_blank_alone_is_not(run, tmp_path):
    blank = Path(shutil.copytree(run, tmp_path / "blank"))
    steps = pd.read_csv(blank / "steps.csv")
    _blank_one_train_row(steps)
    steps.to_csv(blank / "steps.csv", index=False)
    code, out = verify(blank)
    assert code == 0, out  # a row without an energy is read off the telemetry, not a lie
    steps = pd.read_csv(run / "steps.csv")
    _negative_one_train_row(steps)
    steps.to_csv(run / "steps.csv", index=False)
    assert any("negative energy_j" in n for n in account_run(run).notes)
    code, out = verify(run)
    assert code == 1 and "1 window(s) with a negative energy_j" in out
