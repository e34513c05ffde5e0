"""The trainer writes each train row's MFU into steps.csv (`mfu`), over the row's own window,
whichever writer writes the rows: StepRows (no telemetry) or the meter (EnergyCallback)."""

import math

import pandas as pd
import pytest
import torch

from olmo_green import record as rr
from olmo_green.config import TrainConfig
from olmo_green.hardware import load_profile
from olmo_green.model.build import build_parts
from olmo_green.model.config import OLMoConfig
from olmo_green.model.distributed import DistEnv
from olmo_green.model.metrics import flops_per_token
from olmo_green.model.steprows import StepRows
from olmo_green.model.trainer import Trainer
from olmo_green.record.linelog import StepLog
from olmo_green.telemetry.callback import EnergyCallback
from tests.model.helpers import byte_data, small_config

pytestmark = pytest.mark.usefixtures("one_thread")
PEAK = load_profile("h100").peak_flops_per_device


def _train(tmp_path, callback, peak: float | None) -> pd.DataFrame:
    config = small_config(byte_data(tmp_path / "data"), "max_steps=4", "save_interval=2")
    run = tmp_path / "run"
    run.mkdir()
    trainer = Trainer(build_parts(config, run, torch.device("cpu"), DistEnv(), [callback], peak))
    trainer.fit()
    return pd.read_csv(run / rr.STEPS_FILE)  # read back as a user would, not through our reader


@pytest.mark.parametrize("writer", ["steprows", "meter"])
def test_each_train_row_carries_its_mfu_over_its_own_window(tmp_path, writer):
    callback = StepRows() if writer == "steprows" else \
        EnergyCallback(hardware="h100", simulate=True, sampling_interval_s=0.02)
    steps = _train(tmp_path, callback, PEAK)
    assert "mfu" in steps.columns
    train = steps[steps["phase"] == "train"]
    assert len(train) == 4 and train["mfu"].between(0.0, 1.0, inclusive="right").all()
    seconds = train["time_end_s"] - train["time_start_s"]
    per_token = flops_per_token(OLMoConfig.from_preset(TrainConfig().model.name), 32)  # sequence_length=32
    # the trainer's formula: tokens / window seconds x FLOPs per token / (peak x 1 device)
    expected = train["tokens"] / seconds * per_token / PEAK
    assert train["mfu"].to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-12)
    assert steps.loc[steps["phase"] != "train", "mfu"].isna().all()  # eval, checkpoint: no MFU


def test_a_cpu_run_without_a_peak_leaves_the_column_empty(tmp_path):
    steps = _train(tmp_path, StepRows(), None)  # commands/train.py passes no peak on CPU
    assert "mfu" in steps.columns and steps["mfu"].isna().all() and (steps["phase"] == "train").any()


def test_a_resumed_old_record_gains_the_column_empty_for_its_old_rows(tmp_path):
    old = ",".join(c for c in rr.STEP_COLUMNS if c != "mfu")
    (tmp_path / rr.STEPS_FILE).write_text(old + "\n1,1e9,1e9+1,64,3.0,0.001,5.0,train,0\n".replace(
        "1e9+1", repr(1e9 + 1)), encoding="utf-8")
    log = StepLog(tmp_path)
    log.append({"step": 2, "phase": "train", "time_start_s": 1e9 + 1, "time_end_s": 1e9 + 3, "tokens": 64,
                "flops_per_token": 1e6, "peak_flops_per_device": PEAK, "world_size": 1})
    log.close()
    steps = rr.read_steps(tmp_path)
    assert math.isnan(steps["mfu"].iloc[0])
    assert steps["mfu"].iloc[1] == pytest.approx(64 / 2.0 * 1e6 / PEAK, rel=1e-12)
    assert steps["attempt"].tolist() == [0, 1]


def test_upgrading_an_old_steps_csv_keeps_its_torn_row_counted_and_its_cells_as_written(tmp_path):
    """Resuming a record from before `mfu` (or `attempt`) rewrites its header; a row torn by the
    kill stays in the file for the reader to drop and count, and "5" is not rewritten as "5.0"."""
    old = [c for c in rr.STEP_COLUMNS if c not in ("mfu", "attempt")]
    rows = [f"{s},{1e9 + s!r},{1e9 + s + 1!r},64,3.0,0.001,5.0,train" for s in range(1, 6)]
    (tmp_path / rr.STEPS_FILE).write_text("\n".join([",".join(old), *rows, "6,1000000006.0,10000"]) + "\n",
                                          encoding="utf-8")
    assert rr.read_steps(tmp_path).attrs["dropped_rows"] == 1
    StepLog(tmp_path).close()
    text = (tmp_path / rr.STEPS_FILE).read_text(encoding="utf-8").splitlines()
    assert text[0] == ",".join(rr.STEP_COLUMNS)
    assert text[1].split(",")[0] == "1" and "6,1000000006.0,10000" in text
    steps = rr.read_steps(tmp_path)
    assert steps.attrs["dropped_rows"] == 1
    assert steps["step"].tolist() == [1, 2, 3, 4, 5] and steps["attempt"].tolist() == [0] * 5
    assert steps["energy_j"].tolist() == [5.0] * 5
