"""The sampler: a failing source is a gap and one warning, never an exception; stop is idempotent."""

import logging
import time

from olmo_green.clock import Clock
from olmo_green.telemetry.sampler import Sampler
from tests.telemetry.fakes import SteadySource


def _sampler(*sources, sink=None):
    rounds, events = [], []
    sampler = Sampler(list(sources), sink or rounds.append, events.append, interval_s=0.01)
    return sampler, rounds, events


def test_failing_source_is_a_gap_with_one_warning_and_recovers(caplog):
    good, bad = SteadySource(), SteadySource()
    bad.name = "flaky"
    sampler, rounds, events = _sampler(good, bad)
    with caplog.at_level(logging.WARNING):
        sampler.sample_now()
        bad.fail = True
        for _ in range(3):
            sampler.sample_now()
        bad.fail = False
        sampler.sample_now()
    assert [len(r) for r in rounds] == [2, 1, 1, 1, 2]  # the good source kept going
    assert [e["kind"] for e in events] == ["gap_start", "gap_end"]
    assert events[1]["duration_s"] > 0 and events[0]["source"] == "flaky"
    assert sum("flaky failed" in m for m in caplog.messages) == 1


def test_a_failing_sink_never_raises():
    def full_disk(readings):
        raise OSError(28, "No space left on device")

    sampler, _, _ = _sampler(SteadySource(), sink=full_disk)
    sampler.sample_now()
    sampler.sample_now()


def test_thread_samples_at_its_interval_and_stop_is_idempotent():
    sampler, rounds, _ = _sampler(SteadySource())
    sampler.start()
    time.sleep(0.15)
    sampler.stop()
    sampler.stop()
    assert not sampler.running
    assert 5 <= len(rounds) <= 20
    times = [r[0].time_s for r in rounds]
    assert times == sorted(times)


def test_clock_ignores_wall_clock_jumps(monkeypatch):
    clock = Clock()
    before = clock.now_s()
    monkeypatch.setattr(time, "time", lambda: 0.0)  # NTP steps the wall clock back decades
    assert clock.now_s() >= before
