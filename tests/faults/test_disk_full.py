"""The disk fills while the record is written: training goes on, the report says what was lost.

ENOSPC is simulated by patching the record writers' `open` (olmo_green.telemetry.store for
samples, olmo_green/record/linelog.py for steps and events):
while the disk is "full", a write puts half its text on disk (a torn line, as a
real short write does) and raises OSError(ENOSPC).
"""

from __future__ import annotations

import errno

import pytest

from olmo_green import record as rr
from olmo_green.record import linelog
from olmo_green.telemetry import store
from tests.faults.helpers import assert_kept, flushed, open_meter, report, train, train_steps
from tests.telemetry.fakes import SteadySource


class Disk:
    full = False


class FullableFile:
    """A real file whose writes fail with ENOSPC while Disk.full, after writing half their text."""

    def __init__(self, file) -> None:
        self._file = file

    def write(self, text: str) -> int:
        if Disk.full:
            self._file.write(text[: len(text) // 2])
            self._file.flush()
            raise OSError(errno.ENOSPC, "No space left on device")
        return self._file.write(text)

    def flush(self) -> None:
        if Disk.full:
            raise OSError(errno.ENOSPC, "No space left on device")
        self._file.flush()

    def __getattr__(self, name: str):
        return getattr(self._file, name)


@pytest.fixture
def disk(monkeypatch):
    Disk.full = False
    for module in (store, linelog):
        monkeypatch.setattr(module, "open", lambda *a, **k: FullableFile(open(*a, **k)), raising=False)
    yield Disk
    Disk.full = False


def test_full_disk_mid_run_drops_rows_counts_them_and_training_goes_on(tmp_path, disk):
    meter = open_meter(tmp_path, [SteadySource(power_w=200.0)])
    train(meter, 5)
    before, steps_before = flushed(tmp_path), train_steps(tmp_path)
    disk.full = True
    train(meter, 8)  # samples, step rows and events all fail to write
    assert meter.last_step == 13  # the loop never saw the errors
    disk.full = False
    train(meter, 5)
    meter.close()

    assert_kept(before, rr.read_samples(tmp_path))  # and no torn line broke the file
    account = report(tmp_path)
    lost = account.records_dropped
    steps = train_steps(tmp_path)
    assert steps[: len(steps_before)] == steps_before and steps[-5:] == [14, 15, 16, 17, 18]
    assert lost[f"telemetry/{rr.node_names(tmp_path)[0]}"] > 0 and lost["steps.csv"] >= 18 - len(steps) >= 5
    assert any("could not be written (" in n and "No space left" in n for n in account.notes)
    dropped = [e for e in rr.read_events(tmp_path) if e["kind"] == "records_dropped"]
    samples = next(e for e in dropped if e["file"].startswith("telemetry/"))
    assert samples["time_start_s"] > before["time_s"].max()  # which stretch of samples is missing
    assert account.gaps.count >= 1  # and the hole in the samples is a gap of the curve


def test_disk_full_until_the_end_says_so_on_stderr(tmp_path, disk, caplog):
    meter = open_meter(tmp_path, [SteadySource(power_w=200.0)])
    train(meter, 3)
    steps_before = train_steps(tmp_path)
    disk.full = True
    train(meter, 3)
    meter.close()  # must not raise: the run's own outcome is what the trainer reports
    assert any("could not be written" in m and "not in the record" in m for m in caplog.messages)
    assert train_steps(tmp_path) == steps_before  # what was written stays, nothing torn
    assert rr.read_samples(tmp_path)["time_s"].notna().all()
