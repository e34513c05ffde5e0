"""Reading a run record for display: energy only where it was measured, resumed steps once."""

import numpy as np
import pandas as pd
import pytest

from olmo_green import record as rr
from olmo_green.dashboards.rundata import cumulative_energy_j, load_run, step_energy_j, step_of_time
from olmo_green.dashboards.synthetic import SyntheticRun, write_synthetic_run
from olmo_green.errors import GreenError


@pytest.fixture()
def run_dir(tmp_path):
    return write_synthetic_run(tmp_path / "run", SyntheticRun(steps=300, nodes=1, eval_every=100,
                                                              checkpoint_every=150))


def test_energy_after_the_telemetry_ends_is_unknown_not_zero(run_dir):
    for chunk in rr.telemetry_dir(run_dir).iterdir():
        if chunk.suffix == ".parquet":
            samples = pd.read_parquet(chunk)
            samples[samples["time_s"] < samples["time_s"].quantile(0.5)].to_parquet(chunk, index=False)
        elif not chunk.name.endswith(".parquet"):
            chunk.unlink()
    # Without the energy the meter recorded per step, the steps read the (truncated) samples.
    steps = pd.read_csv(run_dir / "steps.csv")
    recorded = steps["energy_j"].copy()
    steps.assign(energy_j=np.nan).to_csv(run_dir / "steps.csv", index=False)
    assert recorded.notna().any()
    run = load_run(run_dir)
    per_step = step_energy_j(run)
    cumulative = cumulative_energy_j(run, run.steps["time_end_s"].to_numpy())
    assert np.isfinite(per_step[:100]).all() and np.isnan(per_step[-100:]).all()
    assert np.isfinite(cumulative[:100]).all() and np.isnan(cumulative[-100:]).all()


def test_cumulative_energy_matches_the_integrated_curves(run_dir):
    run = load_run(run_dir)
    last_sample_s = max(float(c.time_s[-1]) for c in run.accelerator_curves)
    total_j = sum(c.total_j for c in run.accelerator_curves)
    assert cumulative_energy_j(run, np.array([last_sample_s]))[0] == pytest.approx(total_j)


def test_a_step_redone_after_a_resume_is_drawn_once_with_the_redoing_attempts_row(run_dir):
    steps = pd.read_csv(run_dir / "steps.csv")
    redo = steps[(steps["phase"] == "train") & (steps["step"].between(51, 60))].copy()
    redo["loss"], redo["attempt"] = -1.0, 1  # the rows written again after resuming from step 50
    pd.concat([steps, redo]).to_csv(run_dir / "steps.csv", index=False)
    run = load_run(run_dir)
    assert run.steps["step"].is_unique and (run.steps.set_index("step").loc[51:60, "loss"] == -1.0).all()


def test_eval_samples_fall_between_the_step_they_follow_and_the_next(run_dir):
    run = load_run(run_dir)
    eval_row = run.phases[run.phases["phase"] == "eval"].iloc[0]
    times_s = np.linspace(eval_row["time_start_s"], eval_row["time_end_s"], 5)
    x = step_of_time(run, times_s)
    assert (x >= eval_row["step"]).all() and (x <= eval_row["step"] + 1).all()


def test_a_folder_that_is_not_a_run_record_is_a_green_error(tmp_path):
    with pytest.raises(GreenError, match="not a run record"):
        load_run(tmp_path)


def test_steps_without_phase_tokens_or_loss_columns_still_load(run_dir):
    steps = pd.read_csv(run_dir / "steps.csv")
    steps = steps[steps["phase"] == "train"].drop(columns=["phase", "tokens", "loss"])
    steps.to_csv(run_dir / "steps.csv", index=False)
    run = load_run(run_dir)
    assert len(run.steps) == 300 and run.phases.empty
    assert np.isnan(run.steps["loss"]).all()
