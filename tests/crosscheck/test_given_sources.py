"""A meter given the caller's own sources (EnergyMeter(sources=[...])) promises nothing of which
devices they count: such a source may open late, raise what it likes, or label its readings
otherwise than its devices. Its sensors event lists no `counted` devices and its chunks carry no
mark (record/chunks.py), so the sensors check does not judge them; and nothing it raises while
opening reaches the training loop."""

from __future__ import annotations

import time

import pyarrow.parquet as pq
import pytest

from olmo_green import record as rr
from olmo_green.errors import SensorError
from olmo_green.telemetry.meter import EnergyMeter
from olmo_green.telemetry.sources.base import DeviceInfo, Reading, Source
from tests.crosscheck.records import chunks, report
from tests.telemetry.fakes import SteadySource


class OpensOnSecondTry(SteadySource):
    """A driver busy at the first open, fine afterwards; `error`: what the first open raises."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error, self.tries = error, 0

    def _open(self):
        self.tries += 1
        if self.tries == 1:
            raise self.error
        return super()._open()


class OtherLabels(Source):
    """Its devices() name the board; its readings name each GPU on it."""

    name = "mine"

    def _open(self) -> list[DeviceInfo]:
        return [DeviceInfo("board", "gpu", "my board", "counter")]

    def _read(self, time_s: float) -> list[Reading]:
        self.start_s = getattr(self, "start_s", time_s)
        return [Reading(time_s, f"cuda:{i}", "gpu", 300.0, 300.0 * (time_s - self.start_s), self.name)
                for i in range(2)]


def _run(run_dir, source: Source) -> None:
    with EnergyMeter(run_dir, "lumi", sources=[source], sampling_interval_s=0.01) as meter:
        for _ in range(10):
            time.sleep(0.05)
            meter.step(tokens=64, loss=1.0)


@pytest.mark.parametrize("source", [OpensOnSecondTry(SensorError("driver busy")),
                                    OpensOnSecondTry(RuntimeError("NVML_ERROR_UNKNOWN")), OtherLabels()],
                         ids=["sensor-error-first", "runtime-error-first", "other-labels"])
def test_a_callers_source_is_recorded_and_reported_not_refused(tmp_path, source):
    run = tmp_path / "run"
    _run(run, source)  # before: a RuntimeError at open escaped the meter into the training loop
    sensors = [e for e in rr.read_events(run) if e["kind"] == rr.EVENT_SENSORS]
    assert len(sensors) == 1 and all(rr.SENSORS_COUNTED not in f for f in sensors[0]["found"])
    for path in chunks(run):
        assert b"olmo_green.chunk_format" not in (pq.read_schema(path).metadata or {})
    code, out = report(run)  # before: refused as "removed or edited" or "a relabelled device"
    assert code == 0, out


def test_a_garbled_or_huge_chunk_mark_is_read_as_no_mark(tmp_path):
    """A mark past any format (2**80) or not a number promises nothing; before, a huge one was a
    traceback when the summaries were saved."""
    from tests.crosscheck.records import steady_run

    run = tmp_path / "run"
    steady_run(run, hardware="lumi", steps=4)
    path = chunks(run)[0]
    table = pq.read_table(path)
    for value in (str(2**80).encode(), b"inf", b"-3", b"\xff"):
        pq.write_table(table.replace_schema_metadata({b"olmo_green.chunk_format": value}), path)
        assert rr.chunk_format(path) == 1
        code, out = report(run)
        assert code == 0 and "Traceback" not in out, out
