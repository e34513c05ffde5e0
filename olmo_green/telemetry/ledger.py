"""Live energy accounting: per-device cumulative curves and the windows that split them.

A window is a stretch of the run with one label: an optimizer step ("train")
or a phase between steps ("eval", "checkpoint", "data_wait", "idle").
Windows tile the run with no overlap and no hole, each starting where the
previous ended, so step energies plus phase energies equal the run's total
by construction. A window's energy is curve(end) - curve(start), linear
between samples: integrate.EnergyCurve's rule, applied as samples arrive.

Per-interval energy comes from integrate.py (counter deltas with resets,
trapezoid for power, nothing invented across a power gap), so live totals and
offline reports count the same way.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

from olmo_green import record as rr
from olmo_green.integrate import GAP_FACTOR, SOURCE_METHODS, interval_j, trapezoid_step_j
from olmo_green.telemetry.sources.base import Reading


class Track:
    """One device's cumulative energy at each sample since the oldest open window."""

    def __init__(self, counter: bool, max_gap_s: float, source: str = "") -> None:
        self.counter, self.max_gap_s, self.source = counter, max_gap_s, source
        self.first_s: float | None = None
        self.time_s: list[float] = []
        self.cumulative_j: list[float] = []
        self.last_value = math.nan
        self.power_w = math.nan
        self.total_j = 0.0
        self.power_j = 0.0  # integrated polled power beside a counter: the cross-check
        self.gaps, self.gap_s, self.resets = 0, 0.0, 0

    def add(self, time_s: float, power_w: float, energy_j: float) -> None:
        value = energy_j if self.counter else power_w
        if math.isnan(value) or (self.time_s and time_s <= self.time_s[-1]):
            return  # a missing value or a repeated stamp adds nothing
        self.first_s = time_s if self.first_s is None else self.first_s
        if self.time_s:
            self.total_j += self._delta_j(time_s, value)
            if self.counter and not math.isnan(power_w) and not math.isnan(self.power_w):
                self.power_j += trapezoid_step_j(self.time_s[-1], time_s, self.power_w, power_w)
        self.time_s.append(time_s)
        self.cumulative_j.append(self.total_j)
        self.last_value, self.power_w = value, power_w

    def _delta_j(self, time_s: float, value: float) -> float:
        energy_j, gap, resets = interval_j(self.time_s[-1], time_s, self.last_value, value, self.counter,
                                           self.max_gap_s)
        self.gaps, self.gap_s = self.gaps + gap, self.gap_s + (time_s - self.time_s[-1] if gap else 0.0)
        self.resets += resets
        return energy_j

    def at_j(self, time_s: float) -> float:
        """Cumulative energy at `time_s`, linear between samples, clamped outside them.

        EnergyCurve.energy_between_j's rule (np.interp), by bisection on the lists: this runs
        at every step boundary, where building arrays would cost more than the lookup.
        """
        times, cumulative = self.time_s, self.cumulative_j
        if not times:
            return 0.0
        i = bisect.bisect_right(times, time_s)
        if i == 0:
            return cumulative[0]
        if i == len(times):
            return cumulative[-1]
        t0, t1 = times[i - 1], times[i]
        return cumulative[i - 1] + (cumulative[i] - cumulative[i - 1]) * (time_s - t0) / (t1 - t0)

    def forget_before(self, time_s: float) -> None:
        """Drop samples no open window needs (keep the one at or before `time_s`)."""
        keep = max(0, bisect.bisect_right(self.time_s, time_s) - 1)
        if keep:
            del self.time_s[:keep], self.cumulative_j[:keep]


@dataclass
class Window:
    phase: str
    step: int
    start_s: float
    end_s: float | None = None
    metrics: dict = field(default_factory=dict)
    energy_j: float | None = None  # this node's accelerator energy, once resolved


class Ledger:
    """Tracks per (device, domain) and the windows of one process."""

    def __init__(self, interval_s: float, merge_idle_s: float = 1.0) -> None:
        self.max_gap_s = GAP_FACTOR * interval_s
        self.merge_idle_s = merge_idle_s
        self.tracks: dict[tuple[str, str], Track] = {}
        self.windows: list[Window] = []  # closed and not yet resolved, then the open one
        self.last_step = 0  # the last optimizer step that ended (or the one the run resumed from)
        # Each track's cumulative energy where the oldest unresolved window starts. Kept, not
        # recomputed, so a window resolved early (forced) cannot lose the energy after it.
        self._start_j: dict[tuple[str, str], float] = {}

    def judge_gaps_at(self, interval_s: float) -> None:
        """Judge gaps against `interval_s` from now on where it is longer than the interval asked
        for: a sampler that honestly manages only every 40 ms (a loaded host, slow sensor reads)
        must not turn each of its intervals into a gap, as the reports judge them (the `sampling`
        event, crosscheck/settings.py)."""
        max_gap_s = GAP_FACTOR * interval_s
        if max_gap_s > self.max_gap_s:
            self.max_gap_s = max_gap_s
            for track in self.tracks.values():
                track.max_gap_s = max_gap_s

    def add(self, readings: list[Reading]) -> None:
        for r in readings:
            track = self.tracks.get((r.device, r.domain))
            if track is None:
                track = Track(not math.isnan(r.energy_j), self.max_gap_s, r.source)
                self.tracks[(r.device, r.domain)] = track
            track.add(r.time_s, r.power_w, r.energy_j)

    @property
    def step_domains(self) -> set[str]:
        """What a step's energy covers: the accelerators; the CPU where there is none."""
        domains = {domain for _, domain in self.tracks}
        return {"gpu"} if "gpu" in domains or not domains else {"cpu"} & domains

    # -- window labelling: the only place windows are opened, closed or renamed ------------------
    def start(self, phase: str, time_s: float, last_step: int = 0) -> None:
        """Open the first window at `time_s`; `last_step` is the step the run continues from."""
        self.last_step = last_step
        self.windows.append(Window(phase, self._step_for(phase), time_s))

    def _step_for(self, phase: str) -> int:
        """A train window is the next step; any other window carries the step it follows."""
        return self.last_step + 1 if phase == "train" else self.last_step

    def enter_phase(self, phase: str, time_s: float, metrics: dict | None = None) -> None:
        """Close the open window at `time_s` (with `metrics`) and open `phase`.

        A moment of idle (shorter than merge_idle_s) between two windows joins the next one
        instead of becoming a row of its own.
        """
        current = self.windows[-1]
        if current.phase == "idle" and time_s - current.start_s < self.merge_idle_s:
            current.phase, current.step = phase, self._step_for(phase)
            return
        self._close_open(time_s, phase, metrics)

    def end_step(self, step: int, time_s: float, metrics: dict | None = None) -> None:
        """Optimizer step `step` ended at `time_s`: its window closes with `metrics`, idle opens."""
        self.last_step = step
        self.enter_phase("idle", time_s, metrics or {})

    def relabel_open(self, phase: str) -> None:
        """Call the open window `phase`, for loops that say what a window was only once it began."""
        self.windows[-1].phase, self.windows[-1].step = phase, self._step_for(phase)

    def finish(self, time_s: float) -> None:
        """Close the open window at `time_s`; a train window no step ended was idle."""
        if self.windows[-1].phase == "train":
            self.relabel_open("idle")
        self._close_open(time_s, "idle", None)

    def _close_open(self, time_s: float, phase: str, metrics: dict | None) -> None:
        current = self.windows[-1]
        current.end_s = max(time_s, current.start_s)
        current.metrics = metrics or current.metrics
        self.windows.append(Window(phase, self._step_for(phase), current.end_s))

    def resolve(self, force: bool = False) -> list[Window]:
        """Closed windows whose end every live track has passed (all closed ones if forced)."""
        done = []
        while len(self.windows) > 1 and (force or self._covered(self.windows[0].end_s)):
            window = self.windows.pop(0)
            window.energy_j = self._take_j(window.end_s)
            done.append(window)
        if done:
            for track in self.tracks.values():
                track.forget_before(self.windows[0].start_s)
        return done

    def _covered(self, time_s: float) -> bool:
        newest = max((t.time_s[-1] for t in self.tracks.values() if t.time_s), default=-math.inf)
        # A track that stopped (failing source) does not hold the others back.
        live = [t for t in self.tracks.values() if t.time_s and newest - t.time_s[-1] <= self.max_gap_s]
        return bool(live) and all(t.time_s[-1] >= time_s for t in live)

    def _take_j(self, end_s: float) -> float:
        """Energy from the stored window start to `end_s`, which becomes the next start."""
        domains, energy_j = self.step_domains, 0.0
        for key, track in self.tracks.items():
            end_j = track.at_j(end_s)
            if key[1] in domains:
                energy_j += end_j - self._start_j.get(key, 0.0)
            self._start_j[key] = end_j
        return energy_j

    def power_w(self, domains: set[str] | None = None) -> float:
        """Latest power summed over tracks in `domains` (accelerators by default)."""
        domains = domains or self.step_domains
        powers = [t.power_w for (_, d), t in self.tracks.items() if d in domains]
        return sum(p for p in powers if not math.isnan(p))

    def last_time_s(self) -> float | None:
        return max((t.time_s[-1] for t in self.tracks.values() if t.time_s), default=None)


def counter_checks(tracks: dict[tuple[str, str], Track], tolerance: float = 0.25,
                   min_duration_s: float = 30.0) -> list[dict]:
    """Counter against integrated power per device; flags counters stuck or drifting (seen on ROCm).

    Only measured sources, and only over `min_duration_s`: H100 power is a 1 s average, so
    over a few seconds the two disagree for good reasons.
    """
    checks = []
    for (device, domain), track in tracks.items():
        measured = track.source not in SOURCE_METHODS
        duration_s = track.time_s[-1] - track.first_s if track.time_s else 0.0
        if not (track.counter and measured and track.power_j > 0.0 and duration_s >= min_duration_s):
            continue
        ratio = track.total_j / track.power_j
        checks.append({"kind": rr.EVENT_COUNTER_CHECK, "device": device, "domain": domain,
                       "counter_j": track.total_j, "power_j": track.power_j, "ratio": ratio,
                       "suspect": abs(ratio - 1.0) > tolerance})
    return checks
