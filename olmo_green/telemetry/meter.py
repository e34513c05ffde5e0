"""EnergyMeter: energy per step window for any training loop.

    with EnergyMeter(run_dir="runs/a", hardware="lumi", simulate=True) as meter:
        for batch in loader:
            loss = train_step(batch)
            meter.step(tokens=batch.numel(), loss=loss)
        with meter.phase("eval"):
            evaluate()

It opens the profile's sources (on one process per node), samples them on a
background thread, writes the run record (samples, steps.csv, events.jsonl)
and attributes energy to steps and to the phases between them so that they
add up to the run total. Nothing here raises into training once started.
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import math
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from olmo_green import checks, runlock
from olmo_green import record as rr
from olmo_green.clock import Clock
from olmo_green.hardware.profiles import HardwareProfile, load_profile
from olmo_green.integrate import GAP_FACTOR
from olmo_green.record.config import RunConfig
from olmo_green.record.events import EVENT_SAMPLING, SAMPLING_CLOSING
from olmo_green.record.linelog import EventLog, StepLog
from olmo_green.record.options import TelemetryOptions, renamed
from olmo_green.summaries.record import SummarySettings
from olmo_green.telemetry.distributed import NodeGroup
from olmo_green.telemetry.ledger import Ledger, Window, counter_checks
from olmo_green.telemetry.live import LiveOutputs, job_event, run_params
from olmo_green.telemetry.outputs import LiveSnapshot, TrackReading
from olmo_green.telemetry.sampler import Sampler
from olmo_green.telemetry.sources.base import Reading, Source
from olmo_green.telemetry.sources.detect import open_sources
from olmo_green.telemetry.state import Totals
from olmo_green.telemetry.store import SampleStore
from olmo_green.telemetry.validate import SampleFilter
from olmo_green.units import J_PER_KWH

log = logging.getLogger(__name__)

_EARLY_ROUNDS = 32  # the sampler's first rounds: the ledger follows its pace at every one


# The meter's options are config.yaml's telemetry section (record/options.py): one type, one set
# of names for the CLI, the callbacks and the meter. MeterOptions is its old name here.
MeterOptions = TelemetryOptions


class EnergyMeter:
    def __init__(self, run_dir: str | Path | None = None, hardware: str | HardwareProfile = "local", *,
                 simulate: bool = False, trace: str | Path | None = None, sources: list[Source] | None = None,
                 node: str | None = None, roots: dict[str, Path] | None = None,
                 options: TelemetryOptions | None = None, tags: dict[str, str] | None = None,
                 trackers: tuple[str, ...] | list[str] = (), max_steps: int | None = None,
                 **settings: float | int | bool) -> None:
        """`settings` are TelemetryOptions fields, a shorthand for options=TelemetryOptions(...)
        (the old names interval_s and sync_every_steps still work, with a DeprecationWarning);
        `tags` go into the run's config.yaml when the meter writes it (RunConfig.for_meter).
        Live outputs: `trackers` (tensorboard, mlflow, wandb; telemetry/trackers.py) and
        `max_steps` (the run's last step: with it, the meter forecasts the total)."""
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.tags = tags
        self.profile = hardware if isinstance(hardware, HardwareProfile) else load_profile(hardware)
        self.simulate, self.trace, self.roots = simulate, trace, roots
        self.sources, self.node_name = sources, node
        self.options = dataclasses.replace(options or TelemetryOptions(), **renamed(settings))
        from olmo_green.telemetry.trackers import require_trackers

        self.trackers = require_trackers(tuple(trackers))  # a missing library: one line
        if max_steps is not None:
            checks.positive(max_steps, "max_steps", integer=True)
        self.max_steps = max_steps
        self.clock = Clock()
        self.ledger = Ledger(self.options.sampling_interval_s, self.options.merge_idle_s)
        self.totals = Totals()
        self._resume_step = 0  # from load_state_dict: the step a resumed run continues from
        self.group: NodeGroup | None = None
        self.sampler: Sampler | None = None
        self.store: SampleStore | None = None
        self.events: EventLog | None = None
        self.steps_log: StepLog | None = None
        self._lock = threading.RLock()  # the ledger is fed by the sampler thread
        self._started = self._closed = False
        self._since_sync = 0
        self._run_lock: runlock.RunLock | None = None
        self.live: LiveOutputs | None = None  # metrics endpoint, trackers, forecast
        self._pace_checked_s, self._pace_sent = time.monotonic(), False  # the early `sampling` event
        self._pace_followed_s = time.monotonic()  # when the ledger last took the sampler's pace

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, step: int | None = None, first_phase: str = "train") -> EnergyMeter:
        """Open sources and files, take a first sample and open the first window.

        `step` is the last step already done (a resumed run's checkpoint step); by default the
        one in the state loaded with load_state_dict, or 0.
        """
        if self._started:
            return self
        self._started = True
        self.group = NodeGroup.discover(self.node_name)
        if self.group.world_size > 1:
            # Each rank decides alone whether a short idle joins the next window; ranks that
            # decide differently close different numbers of windows and the sum over ranks
            # waits forever. With several ranks, idle always joins the next window.
            self.ledger.merge_idle_s = math.inf
        if self.run_dir is not None:
            if self.group.is_writer:  # one writer per run; the profile for the report
                self._run_lock = runlock.hold_unless_held(self.run_dir)
                self._write_config()
            self.events = EventLog(self.run_dir, self.group.node)
            self.steps_log = StepLog(self.run_dir) if self.group.is_writer else None
        start_s = self._start_sampling() if self.group.is_sampler else self.clock.now_s()
        self.ledger.start(first_phase, start_s, self._resume_step if step is None else step)
        self.live = LiveOutputs.open(self.options, self.group, self.profile, self.run_dir,
                                     run_params(self.profile, self.simulate, self.tags), self.snapshot,
                                     trackers=self.trackers, max_steps=self.max_steps)
        self._set_phase(first_phase, start_s)
        self._install_handlers()
        return self

    def _write_config(self) -> None:
        """RUN/config.yaml for a loop other than `olmo-green train`, unless the run has one: the
        profile (else a report would say "unknown" and apply PUE 1.0), the tags, and these options
        (a report rebuilds summaries with the settings the meter used). Never raises into training."""
        config = RunConfig.for_meter(self.profile, self.simulate, self.options, self.tags)
        try:
            config.save(self.run_dir, replace=False)
        except OSError as e:
            log.warning("telemetry: could not write %s/%s (%s); report this run with --hardware %s",
                        self.run_dir, rr.CONFIG_FILE, e.strerror or e, self.profile.name)

    def _start_sampling(self) -> float:
        sources = self.sources
        probed = sources is None  # only probed sources list the devices they count (and mark chunks)
        if sources is None:
            sources, probes = open_sources(self.profile, self.simulate, self.trace, self.roots)
            lines = [_probe_line(p) for p in probes]
        else:  # the caller's own sources: the record still says which devices its samples count
            lines = [_given_line(s) for s in sources]
        # its time, before the baseline sample: no honest sample of this attempt precedes it
        # (crosscheck/lifespan.py)
        self._event({"kind": rr.EVENT_SENSORS, "found": lines, "time_s": self.clock.now_s()})
        job = job_event(self.clock.now_s())  # the scheduler's job id, for `report --sacct`
        if job is not None:
            self._event(job)
        if not sources:
            log.warning("telemetry: no energy sensor found; this run will have no energy figures "
                        "(try `olmo-green sensors`, or --simulate for modelled power)")
            self._event({"kind": rr.EVENT_NO_SENSORS, "time_s": self.clock.now_s()})
        self.sources = sources
        if self.run_dir is not None:
            summaries = SummarySettings(self.options.summary_bucket_s,
                                        GAP_FACTOR * self.options.sampling_interval_s,
                                        gpu_limit_w=checks.gpu_limit_w(self.profile))
            self.store = SampleStore(self.run_dir, self.group.node, self.options.flush_interval_s,
                                     summaries=summaries, mark=rr.CHUNK_FORMAT if probed else 1)
        self.sampler = Sampler(sources, self._on_samples, self._event, self.options.sampling_interval_s,
                               self.clock, SampleFilter.for_profile(self.profile))
        self.sampler.sample_now()  # the baseline: the first window starts at a sample
        start_s = self.ledger.last_time_s() or self.clock.now_s()
        if self.store is not None and self.store.last_time_s is not None:
            self._event({"kind": rr.EVENT_RESUME_GAP, "time_s": self.store.last_time_s,
                         "duration_s": start_s - self.store.last_time_s})
        self.sampler.start()
        return start_s

    def _install_handlers(self) -> None:
        atexit.register(self.close)
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):  # a trainer's own handler wins
            signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, signum: int, frame: object) -> None:
        # Closing here could wait on a lock the interrupted code holds; unwinding the main thread
        # releases it, and close() then runs from __exit__, a trainer's finally, or atexit.
        raise SystemExit(128 + signum)

    def __enter__(self) -> EnergyMeter:
        return self.start()

    def __exit__(self, kind: type | None, error: BaseException | None, tb: object) -> None:
        self.close(error=error is not None)

    def close(self, error: bool = False) -> None:
        """End the last window, take a last sample, write what remains; safe to call twice.

        After an error no collective runs (other ranks may be gone): each process writes what it has.
        """
        if not self._started or self._closed:
            return
        self._closed = True
        try:
            if self.sampler is not None:
                self.sampler.stop()  # its last round ends the record
                self._pace_event(closing=True)  # after that round: no later sample of this attempt
            end_s = max(self.ledger.last_time_s() or 0.0, self.clock.now_s())
            with self._lock:
                self.ledger.finish(end_s)
            self.sync(force=True, collective=not error)
            self._check_counters()
        except Exception as e:  # closing must not mask the training's own outcome
            log.warning("telemetry: error while closing the energy meter (%s)", e)
        finally:
            if self.live is not None:
                self.live.close()  # never raises
            for part in (self.store, self.steps_log):
                if part is not None:
                    part.close()  # never raises: a write it cannot do is tallied as lost
            self._report_losses(closing=True)
            if self.events is not None:
                self.events.close()
            for source in self.sources or []:
                source.close()
            if self._run_lock is not None:
                self._run_lock.release()

    def _report_losses(self, closing: bool = False) -> None:
        """Rows a writer could not write (full disk) become `records_dropped` events once the
        event log can be written again; what still cannot be written is said on stderr at the end."""
        for writer in (self.store, self.steps_log, self.events):
            loss = writer.lost.take() if writer is not None else None
            if loss is None:
                continue
            event = {**loss, "time_s": self.clock.now_s()}
            if self.events is not None and self.events.append(event, tally=False):  # retried, not lost
                continue
            writer.lost.give_back(loss)
            if closing:
                log.warning("telemetry: %d rows of %s could not be written (%s) and are not in the record",
                            loss["rows"], loss["file"], loss["error"])

    def _check_counters(self) -> None:
        for check in counter_checks(self.ledger.tracks):
            self._event(check)
            if check["suspect"]:
                log.warning("telemetry: device %s counter %.0f J vs integrated power %.0f J: the counter "
                            "may be stuck or drifting", check["device"], check["counter_j"], check["power_j"])

    # -- windows -----------------------------------------------------------------------------------
    @property
    def last_step(self) -> int:
        """The last optimizer step that ended."""
        return self.ledger.last_step

    def begin(self, phase: str, metrics: dict | None = None) -> None:
        """Close the open window (with `metrics`) and open `phase`; the hook-level API.

        A "train" window is the next step; any other carries the step it follows.
        """
        if not self._started or self._closed:
            return
        time_s = self._boundary_time_s()
        with self._lock:
            self.ledger.enter_phase(phase, time_s, metrics)
        self._set_phase(phase, time_s)

    def _boundary_time_s(self) -> float:
        """The boundary's time: that of a sensor round taken now, where this rank samples.

        The round costs one read per device (µs for NVML counters) and no device sync.
        """
        if self.options.read_at_boundaries and self.sampler is not None:
            readings = self.sampler.sample_now()
            if readings:
                return readings[0].time_s
        return self.clock.now_s()

    def end_step(self, step: int, metrics: dict | None = None) -> None:
        """Optimizer step `step` ended: close its window and open an idle one."""
        if not self._started or self._closed:
            return
        time_s = self._boundary_time_s()
        with self._lock:
            self.ledger.end_step(step, time_s, metrics)
        self._set_phase("idle", time_s)
        self._since_sync += 1
        if self._since_sync >= self.options.sync_every_steps:
            self.sync(force=True)
        elif self.group is not None and self.group.world_size == 1:
            self.sync(force=False)  # cheap: writes the windows already resolved

    def step(self, tokens: int | None = None, loss: float | None = None, lr: float | None = None) -> None:
        """The simple API: the open window was one optimizer step; the next one starts now."""
        self.end_step(self.last_step + 1, {"tokens": tokens, "loss": loss, "lr": lr})
        self.relabel_open_phase("train")
        self._set_phase("train", self.clock.now_s())

    def relabel_open_phase(self, phase: str) -> None:
        """Call the open window `phase` (for loops that only say when a phase has ended)."""
        with self._lock:
            if self.ledger.windows:
                self.ledger.relabel_open(phase)

    @contextmanager
    def phase(self, name: str):
        """Attribute the enclosed work to phase `name` (eval, checkpoint, data_wait)."""
        with self._lock:
            if self.ledger.windows and self.ledger.windows[-1].phase == "train":
                self.ledger.relabel_open("idle")  # not part of any step
        self.begin(name)
        try:
            yield self
        finally:
            self.begin("train")

    def _set_phase(self, phase: str, time_s: float) -> None:
        for source in self.sources or []:
            source.set_phase(phase, time_s)

    def _on_samples(self, readings: list[Reading]) -> None:
        with self._lock:
            self._follow_pace()
            self.ledger.add(readings)  # first: live totals never depend on the disk
        if self.store is not None:
            self.store.append(readings)
        self._check_pace()

    def _follow_pace(self) -> None:
        """The live ledger judges gaps at the interval the sampler achieves, as the reports do: at
        once over its first rounds, then once a second (a median of a few hundred bins)."""
        pace = self.sampler.pace if self.sampler is not None else None
        now_s = time.monotonic()
        if pace is None or (pace.count > _EARLY_ROUNDS and now_s - self._pace_followed_s < 1.0):
            return
        self._pace_followed_s = now_s
        achieved_s = pace.median_s()
        if achieved_s is not None:
            self.ledger.judge_gaps_at(achieved_s)

    def _check_pace(self) -> None:
        """At the flush cadence: where the sampler falls behind its interval by more than
        GAP_FACTOR, say so once now, so a killed run's record still has it (close says it again)."""
        now_s = time.monotonic()
        if self._pace_sent or now_s - self._pace_checked_s < self.options.flush_interval_s:
            return
        self._pace_checked_s = now_s
        achieved_s = self.sampler.pace.median_s() if self.sampler is not None else None
        if achieved_s is not None and achieved_s > GAP_FACTOR * self.options.sampling_interval_s:
            self._pace_sent = True
            self._pace_event()

    def _pace_event(self, closing: bool = False) -> None:
        """A `sampling` event: the interval asked for and the median one achieved so far;
        `closing`: written by close() after the sampler's last round (marked so)."""
        achieved_s = self.sampler.pace.median_s() if self.sampler is not None else None
        if achieved_s is not None:
            event = {"kind": EVENT_SAMPLING, "requested_interval_s": self.options.sampling_interval_s,
                     "achieved_interval_s": achieved_s, "time_s": self.clock.now_s()}
            self._event({**event, SAMPLING_CLOSING: True} if closing else event)

    def _event(self, event: dict) -> None:
        if self.events is not None:
            self.events.append(event)

    def record_checkpoint_write(self, step: int, duration_s: float, error: str | None = None) -> None:
        """A `checkpoint_write` event: a background checkpoint write of `step` ended. Its time
        was not a window (training went on); one event per save, from the run's writer.
        Safe from any thread, and after close (the log then refuses it quietly)."""
        if self.events is None or self.group is None or not self.group.is_writer:
            return
        event = {"kind": rr.EVENT_CHECKPOINT_WRITE, "step": step, "duration_s": duration_s,
                 "time_s": self.clock.now_s()}
        if error is not None:
            event["error"] = error
        self.events.append(event)

    # -- totals ------------------------------------------------------------------------------------
    def sync(self, force: bool = False, collective: bool = True) -> None:
        """Resolve closed windows, sum them over nodes, write their step rows.

        With several processes every rank must call this at the same point (it is a collective),
        which the trainer's hooks guarantee; `force` resolves windows the samples have not passed yet.
        """
        multi = self.group is not None and self.group.world_size > 1
        if multi and not collective:
            return
        force = force or multi  # ranks must agree on how many windows they resolve
        if force and self.sampler is not None and not self._closed:
            self.sampler.sample_now()
        with self._lock:
            done = self.ledger.resolve(force=force)
            local = [w.energy_j for w in done] + [self.ledger.power_w()]
        if multi:
            local = self.group.sum(local)
        for window, energy_j in zip(done, local, strict=False):
            window.energy_j = energy_j
            self._record(window)
        self.totals.power_w = local[-1]
        self._since_sync = 0
        self._report_losses()

    def _record(self, window: Window) -> None:
        self.totals.add(window.phase, window.energy_j)
        if self.live is not None and self.live.outputs:  # trackers, endpoint, forecast; never raises
            for event in self.live.on_window(self.snapshot(window)):
                self._event(event)
        if self.steps_log is None:
            return
        m = window.metrics
        # no sensor anywhere: the energy is unknown, not a measured zero
        unmeasured = self.method == "none" and not window.energy_j
        self.steps_log.append({
            "step": window.step, "time_start_s": window.start_s, "time_end_s": window.end_s,
            "tokens": m.get("tokens"), "loss": _float(m.get("loss")), "lr": _float(m.get("lr")),
            "energy_j": None if unmeasured else window.energy_j, "phase": window.phase,
            **{key: m.get(key) for key in rr.MFU_INPUTS},  # the row's `mfu` (record.window_mfu)
        })

    def snapshot(self, window: Window | None = None) -> LiveSnapshot:
        """The meter's figures now, for its live outputs (telemetry/outputs.py); safe from any thread."""
        with self._lock:  # the sampler thread feeds the tracks
            tracks = tuple(TrackReading(device, domain, t.total_j, t.power_w)
                           for (device, domain), t in self.ledger.tracks.items())
            last_step = self.ledger.last_step
        return LiveSnapshot(node=self.group.node if self.group is not None else "local", method=self.method,
                            last_step=last_step, run_j=self.totals.run_j, phase_j=dict(self.totals.phase_j),
                            tracks=tracks, window=window)

    def live_status(self) -> dict:
        """For a progress bar: power now (W) and energy so far (kWh) of the run, and how measured."""
        return {"power_w": self.totals.power_w, "energy_kwh": self.totals.run_j / J_PER_KWH,
                "method": self.method}

    @property
    def method(self) -> str:
        infos = [d for s in self.sources or [] for d in s.devices() if d.counted]
        return ",".join(sorted({d.method for d in infos})) or "none"

    def domain_totals_j(self) -> dict[str, float]:
        """This node's energy per domain (gpu, cpu, dram, node) since this process started sampling.

        Node energy (Cray, RAPL psys) already includes the others: never add the domains up.
        """
        totals: dict[str, float] = {}
        for (_, domain), track in self.ledger.tracks.items():
            totals[domain] = totals.get(domain, 0.0) + track.total_j
        return totals

    def state_dict(self) -> dict:
        return {**self.totals.state_dict(), "last_step": self.last_step}

    def load_state_dict(self, state: dict) -> None:
        """A checkpoint's totals; the meter continues them (and its step, unless start says)."""
        self.totals.load_state_dict(state)
        self._resume_step = int(state.get("last_step", 0))


def _float(value: object) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _probe_line(probe) -> dict:
    return rr.sensors_line(probe.name, probe.source is not None, probe.devices, probe.reason)


def _given_line(source: Source) -> dict:
    """A sensors-event line for a source the caller passed in (used as given, no probing). It
    lists no `counted` devices: a caller's source may label its readings otherwise than its
    devices, or open later, so the record promises nothing of them (its chunks are not marked)."""
    return {"source": str(getattr(source, "name", "") or type(source).__name__), "used": True,
            "reason": "passed in by the caller"}

