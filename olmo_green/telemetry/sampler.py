"""One background thread per node that polls every source at a fixed interval.

It never raises into training: a source that fails is skipped, recorded as a
gap (an event when it starts and when it ends) and warned about once. Values
no sensor can mean are dropped at this boundary and counted (validate.py):
the counts go out as `rejected_samples` events at most every
`REJECTS_EVERY_S`, and at stop. The
thread is a daemon and `stop()` is idempotent, so the owner can call it from
`close`, `atexit` and a SIGTERM handler alike.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from olmo_green import record as rr
from olmo_green.clock import Clock
from olmo_green.record.options import DEFAULT_SAMPLING_INTERVAL_S
from olmo_green.telemetry.pace import IntervalTally
from olmo_green.telemetry.sources.base import Reading, Source
from olmo_green.telemetry.validate import SampleFilter

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = DEFAULT_SAMPLING_INTERVAL_S  # the one default (record/options.py)
# A round slower than the interval leaves no wait before the next; the thread still pauses this long
# so that a boundary read (sample_now from training) gets the round lock: without it the thread took
# it back at once and a step boundary waited seconds behind 40 ms sensor reads.
YIELD_S = 0.001
REJECTS_EVERY_S = 10.0  # a lying sensor writes one event per source this often, not one per sample


class Sampler:
    def __init__(self, sources: list[Source], sink: Callable[[list[Reading]], None],
                 on_event: Callable[[dict], None] | None = None, interval_s: float = DEFAULT_INTERVAL_S,
                 clock: Clock | None = None, sample_filter: SampleFilter | None = None) -> None:
        self.sources, self.sink, self.interval_s = sources, sink, interval_s
        self.filter = sample_filter or SampleFilter()
        self._rejects_sent_s = -float("inf")
        self.on_event = on_event or (lambda event: None)
        self.clock = clock or Clock()
        self._failing: dict[str, float] = {}  # source name -> time_s its gap began
        self._warned: set[str] = set()
        self._round_lock = threading.Lock()  # the thread's rounds and sample_now's never interleave
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0
        self.cpu_s = 0.0
        self.pace = IntervalTally()  # the intervals it achieved, against interval_s asked for

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="olmo-green-sampler", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread after its current round and take a last round; safe to call twice."""
        if self._stop.is_set():
            return
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=max(5.0, 10 * self.interval_s))
        self.sample_now()  # the record ends at the moment training stopped
        self._send_rejects(force=True)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        next_s = time.monotonic()
        while not self._stop.is_set():
            self.sample_now()
            # Fixed-rate schedule; after a stall, skip missed rounds instead of bursting.
            next_s = max(next_s + self.interval_s, time.monotonic())
            self._stop.wait(max(YIELD_S, next_s - time.monotonic()))

    def sample_now(self) -> list[Reading]:
        """One round over all sources, handed to the sink; never raises."""
        with self._round_lock:
            cpu0_s = time.thread_time()
            time_s = self.clock.now_s()
            self.pace.add(time_s)  # before the sink: the meter reads the pace from there
            readings: list[Reading] = []
            for source in self.sources:
                readings += self._read_one(source, time_s)
            readings = self.filter.check(readings)
            try:
                self.sink(readings)
            except Exception as e:  # a full disk must not stop training
                self._warn_once("sink", f"telemetry: cannot store samples ({e}); training continues")
            self._send_rejects(force=False)
            self.rounds += 1
            self.cpu_s += time.thread_time() - cpu0_s  # what telemetry costs, for the benchmark
            return readings

    def _send_rejects(self, force: bool) -> None:
        now_s = time.monotonic()
        if not force and now_s - self._rejects_sent_s < REJECTS_EVERY_S:
            return
        events = self.filter.take_counts()
        for event in events:
            self.on_event({**event, "time_s": self.clock.now_s()})
            self._warn_once(f"rejects/{event['source']}", f"telemetry: source {event['source']} gave "
                            f"implausible values ({event['counts']}); dropped and counted in the report")
        if events:
            self._rejects_sent_s = now_s

    def _read_one(self, source: Source, time_s: float) -> list[Reading]:
        try:
            readings = source.read(time_s)
        except Exception as e:  # any fault of any source becomes a gap
            self._gap_begins(source.name, time_s, e)
            return []
        if source.name in self._failing:
            began_s = self._failing.pop(source.name)
            self.on_event({"kind": rr.EVENT_GAP_END, "source": source.name, "time_s": time_s,
                           "duration_s": time_s - began_s})
        return readings

    def _gap_begins(self, name: str, time_s: float, error: Exception) -> None:
        if name in self._failing:
            return
        self._failing[name] = time_s
        self.on_event({"kind": rr.EVENT_GAP_START, "source": name, "time_s": time_s, "error": str(error)})
        self._warn_once(name, f"telemetry: source {name} failed ({error}); recording a gap, "
                              "training continues")

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message)
