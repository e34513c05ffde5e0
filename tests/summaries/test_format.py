"""Summary format 2: a format-1 file (before the cross-check columns) is rebuilt, never used."""

import pandas as pd
import pytest

from olmo_green.reports import account_run
from olmo_green.summaries.build import DEVICE_COLUMNS, DOMAIN_COLUMNS
from tests.simulated_runs import steady_run

FORMAT_2 = ["counter_j", "power_j", "repaired_windows", "median_dt_s", "chunk_hash"]


def test_a_format_1_summary_is_rebuilt_with_the_cross_check_columns(tmp_path):
    run = tmp_path / "run"
    steady_run(run, hardware="lumi", steps=4)
    honest_j = account_run(run).gpu_energy_j
    path = next((run / "telemetry").glob("*.summary.parquet"))
    old = pd.read_parquet(path).drop(columns=FORMAT_2)
    old.to_parquet(path, index=False)
    assert account_run(run).gpu_energy_j == pytest.approx(honest_j, rel=1e-12)
    rebuilt = pd.read_parquet(path)
    assert set(FORMAT_2) <= set(rebuilt.columns) and set(DEVICE_COLUMNS) <= set(rebuilt.columns)
    assert (rebuilt["chunk_hash"].str.len() == 64).all()


def test_a_format_2_domain_file_is_rebuilt_with_the_power_bounds(tmp_path):
    """Format 3 added each domain bucket's power bounds (summaries/bounds.py): a domain file
    without them would leave the steps.csv check unbounded in partly covered buckets."""
    run = tmp_path / "run"
    steady_run(run, hardware="lumi", steps=4)
    honest_j = account_run(run).gpu_energy_j
    path = next((run / "telemetry").glob("*.domains.parquet"))
    pd.read_parquet(path).drop(columns=["ceiling_w", "floor_w"]).to_parquet(path, index=False)
    assert account_run(run).gpu_energy_j == pytest.approx(honest_j, rel=1e-12)
    rebuilt = pd.read_parquet(path)
    assert set(DOMAIN_COLUMNS) <= set(rebuilt.columns)
    assert (rebuilt["ceiling_w"] >= rebuilt["floor_w"]).all() and (rebuilt["floor_w"] >= 0).all()
    assert rebuilt["ceiling_w"].notna().all()


def test_a_format_3_summary_is_rebuilt_with_the_dispute_columns(tmp_path):
    """Format 4 added the windows where counter and power disagree but the counter was kept: a
    file without them would let a power column scaled beside an intact counter pass unseen."""
    run = tmp_path / "run"
    steady_run(run, hardware="lumi", steps=4)
    honest_j = account_run(run).gpu_energy_j
    path = next((run / "telemetry").glob("*.summary.parquet"))
    format_4 = ["disputed_windows", "disputed_s", "disputed_counter_j", "disputed_power_j", "unexplained_j"]
    pd.read_parquet(path).drop(columns=format_4).to_parquet(path, index=False)
    assert account_run(run).gpu_energy_j == pytest.approx(honest_j, rel=1e-12)
    rebuilt = pd.read_parquet(path)
    assert set(format_4) <= set(rebuilt.columns)
    assert (rebuilt["unexplained_j"] == 0).all()


def test_a_format_4_summary_is_rebuilt_with_the_chunk_mark(tmp_path):
    """Format 5 added each chunk's mark (record/chunks.py): a file without it would leave a
    record whose sensors events were removed looking like one too old to judge."""
    run = tmp_path / "run"
    steady_run(run, hardware="lumi", steps=4)
    path = next((run / "telemetry").glob("*.summary.parquet"))
    pd.read_parquet(path).drop(columns=["chunk_format"]).to_parquet(path, index=False)
    account_run(run)
    assert (pd.read_parquet(path)["chunk_format"] == 2).all()
