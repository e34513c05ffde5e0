"""The record writer: flushed appends, Parquet chunks, recovery of what a killed writer left."""

import pandas as pd
import pytest

from olmo_green import record as rr
from olmo_green.record.linelog import StepLog
from olmo_green.telemetry.sources.base import Reading
from olmo_green.telemetry.store import SampleStore

T0_S = 1.7e9  # samples carry UNIX seconds: readers drop rows whose times are not


def _readings(t0: float, n: int) -> list[Reading]:
    return [Reading(T0_S + t0 + i * 0.1, "0", "gpu", 300.0, 1000.0 + i, "nvml") for i in range(n)]


def test_flushed_rows_are_readable_before_close(tmp_path):
    store = SampleStore(tmp_path, "nid001", flush_interval_s=0.0)
    store.append(_readings(0.0, 5))
    samples = rr.read_samples(tmp_path)
    assert len(samples) == 5 and samples["node"].iloc[0] == "nid001"
    store.close()
    assert rr.chunk_path(tmp_path, "nid001", 0).exists()
    assert not rr.open_chunk_path(tmp_path, "nid001").exists()
    assert len(rr.read_samples(tmp_path, "nid001")) == 5


def test_rolls_into_parquet_chunks_without_losing_or_repeating_rows(tmp_path):
    store = SampleStore(tmp_path, "n0", flush_interval_s=0.0, chunk_rows=10)
    for k in range(5):
        store.append(_readings(k * 10.0, 7))
    store.close()
    chunks = rr.sample_chunks(tmp_path)["n0"]
    assert len(chunks) >= 3 and all(p.suffix == ".parquet" for p in chunks.values())
    samples = rr.read_samples(tmp_path)
    assert len(samples) == 35 and samples["time_s"].is_unique
    assert samples["energy_j"].dtype == "float64" and samples["device"].iloc[0] == "0"


def test_new_writer_recovers_a_killed_writers_files(tmp_path):
    killed = SampleStore(tmp_path, "n0", flush_interval_s=0.0, chunk_rows=4)
    killed.append(_readings(0.0, 6))  # one closed chunk, two rows in the open one
    for t in killed._converters:
        t.join()
    with open(rr.open_chunk_path(tmp_path, "n0"), "a") as f:
        f.write("9.9,n0,0,gpu,3")  # a line torn by the kill
    resumed = SampleStore(tmp_path, "n0", flush_interval_s=0.0)
    assert resumed.last_time_s == pytest.approx(T0_S + 0.5)
    resumed.append(_readings(100.0, 2))
    resumed.close()
    samples = rr.read_samples(tmp_path)
    assert len(samples) == 8 and samples["time_s"].is_monotonic_increasing


def test_step_log_appends_rows_in_the_step_columns(tmp_path):
    log = StepLog(tmp_path)
    log.append({"step": 1, "time_start_s": 1.0, "time_end_s": 2.0, "tokens": 4096, "loss": 3.5,
                "lr": 1e-4, "energy_j": 512.25, "phase": "train"})
    log.close()
    StepLog(tmp_path).append({"step": 1, "energy_j": 3.0, "phase": "eval"})
    steps = rr.read_steps(tmp_path)
    assert list(steps.columns) == rr.STEP_COLUMNS and len(steps) == 2
    assert steps["energy_j"].tolist() == [512.25, 3.0] and pd.isna(steps["loss"].iloc[1])


def test_each_new_step_writer_is_the_next_attempt_and_an_old_file_gains_the_column(tmp_path):
    old_header = ",".join(c for c in rr.STEP_COLUMNS if c != "attempt")
    (tmp_path / rr.STEPS_FILE).write_text(old_header + "\n1,0.0,1.0,8,2.5,0.1,3.0,train\n", encoding="utf-8")
    first_resume = StepLog(tmp_path)
    first_resume.append({"step": 2, "time_start_s": 1.0, "time_end_s": 2.0, "phase": "train"})
    first_resume.close()
    second_resume = StepLog(tmp_path)
    second_resume.append({"step": 2, "time_start_s": 9.0, "time_end_s": 10.0, "phase": "train"})
    second_resume.close()
    steps = rr.read_steps(tmp_path)
    assert steps["attempt"].tolist() == [0, 1, 2] and steps["step"].tolist() == [1, 2, 2]
    assert rr.superseded_steps(steps).tolist() == [False, True, False]  # attempt 2 redid step 2
