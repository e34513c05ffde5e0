"""A node's samples against when its meter ran: samples from when none of its meters ran are copies.

A node's meter writes a `sensors` event as it starts sampling, stamped before its baseline
sample, and, as it closes, a `sampling` event marked `closing`, stamped after its sampler's last
round; its samples are stamped by the same clock of the same process. So every honest sample of
an attempt lies between the two. Per node, in the order its events were written (one process
samples a node; a resumed run's attempts follow each other), no meter of the node ran:

- before its first sensors event, where that is the first of the node's events below and no
  resume_gap event says the record held samples before it;
- from the record's last sample to a resumed attempt's start, as its resume_gap event gives them
  (a killed attempt before it included);
- from each closing event to the next attempt's start: its sensors, job or no_sensors event's
  time (all stamped before its baseline sample), or, where only a resume_gap opens it (an older
  meter given its sources wrote no sensors event), the baseline sample it names (time_s + duration_s);
  to +infinity where no attempt follows.

Samples of the node inside such a stretch, beyond the slack (slack_s), were written by no meter:
a chunk copied under a new name of the node, its times shifted past the run's end (or before its
start) and its counter continued, which every other check takes for more of the run. How much of a
node's energy is copied is unknown, so no figure can be right: `report` refuses, `--verify` names it.

Only what the events support is judged: a first attempt without a timed sensors event (a record
from before the time was written) is not judged on the start side, an
attempt without a closing event (killed) not on the end side; a closing event followed by another
attempt's sampling event before any start (an attempt that wrote no start) ends no stretch; where
the node's times run backwards (a wall clock set back between attempts) only before the earliest
and after the latest are judged; traces have no events. A time_s that is not a finite number
counts as absent.

Only the summaries are read: each node's device stretches (gaps.sample_stretches), all held
against the node's few stretches without a meter at once: O(nodes x stretches x attempts).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from olmo_green import record as rr
from olmo_green.crosscheck.gaps import finite_number
from olmo_green.integrate import GAP_FACTOR
from olmo_green.record.events import EVENT_SAMPLING, SAMPLING_CLOSING

# Nothing legitimate moves an honest sample across its attempt's bounds: the events and the samples
# share one clock, in that order. The slack keeps the judgement to what the summaries resolve (an
# interval shorter than their gap limit, GAP_FACTOR sampling intervals, is no gap to them) and off
# times another tool rounded (a record converted with millisecond times); never less than 2 s,
# beside which what a copy could hide is a couple of seconds of one node.
SLACK_MIN_S = 2.0
STARTS = {rr.EVENT_SENSORS, rr.EVENT_JOB, rr.EVENT_NO_SENSORS}  # stamped before the baseline sample
MARKS = STARTS | {rr.EVENT_RESUME_GAP, EVENT_SAMPLING}  # the events that say when a meter ran
SHOWN = 5  # nodes named one a line; more are counted in one line


@dataclass(frozen=True)
class Idle:
    """A stretch when no meter of `node` ran (UNIX s): from a closing event's time, or -inf before
    the node's first start; to the next start's time, or +inf after its last close."""

    node: str
    start_s: float
    end_s: float

    def where(self, earliest_s: float, latest_s: float) -> str:
        """Where the node's samples inside it lie (the earliest and latest known there)."""
        if math.isinf(self.start_s):
            return (f"from {self.end_s - earliest_s:,.1f} s before its meter started at {self.end_s:.1f} "
                    "(UNIX s, its first sensors event)")
        if math.isinf(self.end_s):
            return (f"up to {latest_s - self.start_s:,.1f} s after its meter closed at {self.start_s:.1f} "
                    "(UNIX s, its closing sampling event; none started again)")
        return (f"in the {self.end_s - self.start_s:,.1f} s after its meter closed at {self.start_s:.1f} "
                f"and before the next started at {self.end_s:.1f} (UNIX s)")


@dataclass
class _Attempts:
    """One node's events in order -> the stretches when none of its meters ran."""

    first_s: float | None = None  # the first attempt's start, where a timed sensors event opened it
    seen: bool = False  # an attempt's event came already
    closed_s: float | None = None  # a closing event's time, awaiting the next attempt's start
    earliest_s: float = math.inf  # the earliest last-sample time a resume_gap says the record held
    idle: list[tuple[float, float]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # every start and sampling event's time, in order

    def add(self, kind: str, event: dict) -> None:
        time_s = finite_number(event.get("time_s"))
        if not self.seen:
            self.seen = True
            self.first_s = time_s if kind == rr.EVENT_SENSORS else None
        if kind == rr.EVENT_RESUME_GAP:  # its time is the record's last sample before the attempt
            duration_s = finite_number(event.get("duration_s"))
            self.earliest_s = min(self.earliest_s, time_s if time_s is not None else -math.inf)
            if time_s is not None and duration_s is not None and duration_s > 0:
                # from the record's last sample to this attempt's baseline no meter of the node ran,
                # whether the attempt before closed or was killed (a kill leaves no closing event)
                self.idle.append((time_s, time_s + duration_s))
            time_s = time_s + duration_s if time_s is not None and duration_s is not None else None
        if time_s is not None:
            self.times.append(time_s)
        if kind == EVENT_SAMPLING:  # a closing one awaits the next start; any other: a meter runs
            self.closed_s = time_s if event.get(SAMPLING_CLOSING) is True else None
        else:
            self._started(time_s)

    def _started(self, start_s: float | None) -> None:
        if self.closed_s is not None and start_s is not None and start_s > self.closed_s:
            self.idle.append((self.closed_s, start_s))
        self.closed_s = None

    def stretches(self) -> list[tuple[float, float]]:
        """Each attempt's times are on its own clock; a wall clock set back between attempts shows as
        times that run backwards: then only before the earliest and after the latest are judged."""
        if not self.times:
            return []
        first_s, last_s = min(self.times), max(self.times)
        before = [(-math.inf, first_s)] if self.first_s is not None and self.earliest_s >= first_s else []
        after = [(last_s, math.inf)] if self.closed_s is not None else []
        forward = bool((np.diff(self.times) >= 0).all())
        return _merged(before + (self.idle if forward else []) + after)


def _merged(stretches: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping stretches as one (a closing event and the next attempt's resume_gap name the
    same pause)."""
    out: list[tuple[float, float]] = []
    for start_s, end_s in sorted(stretches):
        if out and start_s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end_s))
        else:
            out.append((start_s, end_s))
    return out


def idle_stretches(events: Iterable[dict]) -> list[Idle]:
    """Per node named by its events, the stretches when none of its meters ran (module docstring)."""
    nodes: dict[str, _Attempts] = {}
    for event in events:
        kind, node = event.get("kind"), event.get("node")
        if isinstance(kind, str) and kind in MARKS and isinstance(node, str) and node:
            nodes.setdefault(node, _Attempts()).add(kind, event)
    return [Idle(node, start_s, end_s) for node, attempts in nodes.items()
            for start_s, end_s in attempts.stretches()]


def slack_s(interval_s: float) -> float:
    """How far past its meter's bounds a sample may lie unjudged (SLACK_MIN_S)."""
    return max(SLACK_MIN_S, GAP_FACTOR * interval_s) if np.isfinite(interval_s) else SLACK_MIN_S


def _device_spans(node) -> tuple[np.ndarray, ...]:
    """Per stretch of the node's devices: first and last sample, gap seconds, gap limit. Without
    stretches, each device's first and last sample (nothing said about what lies between)."""
    rows = getattr(node, "stretches", None)
    if rows is not None and len(rows):
        return tuple(rows[c].to_numpy(float) for c in ("start_s", "end_s", "hole_s", "limit_s"))
    ends = np.array([(c.time_s[0], c.time_s[-1]) for c in node.devices if len(c.time_s)], dtype=float)
    ends = ends.reshape(-1, 2)
    return ends[:, 0], ends[:, 1], np.full(len(ends), np.inf), np.full(len(ends), np.inf)


def _samples_inside(node, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per span (low, high): whether the node's samples reach into it, and the earliest and latest
    sample known inside (a stretch's ends are samples; inf/-inf where none is). A stretch holds
    samples in a span where it begins or ends inside it, or covers it with fewer gap seconds than
    the span lasts (the span longer than its gap limit: an empty span would be a gap of the
    summaries, at least that long)."""
    first, last, hole, limit = (a[:, None] for a in _device_spans(node))
    if not len(first):
        return np.zeros(len(low), dtype=bool), np.full(len(low), np.inf), np.full(len(low), -np.inf)
    width = high - low
    first_in, last_in = (first > low) & (first < high), (last > low) & (last < high)
    covers = (first <= low) & (last >= high) & (width > limit) & (hole < width)
    earliest = np.fmin(np.where(first_in, first, np.inf), np.where(last_in, last, np.inf)).min(axis=0)
    latest = np.fmax(np.where(first_in, first, -np.inf), np.where(last_in, last, -np.inf)).max(axis=0)
    return (first_in | last_in | covers).any(axis=0), earliest, latest


def lifespan_findings(events: Sequence[dict], nodes: Sequence, interval_s: float) -> list[str]:
    """One line per node with samples from when none of its meters ran (`nodes`: the report's
    NodeEnergy list; `interval_s`: the record's sampling interval, for the slack)."""
    idle: dict[str, list[Idle]] = {}
    slack = slack_s(interval_s)
    for stretch in idle_stretches(events):
        if stretch.end_s - stretch.start_s > 2 * slack:
            idle.setdefault(stretch.node, []).append(stretch)
    lines = []
    for node in nodes:
        spans = idle.get(node.node)
        if not spans:
            continue
        low = np.array([s.start_s + slack for s in spans])
        high = np.array([s.end_s - slack for s in spans])
        reached, earliest, latest = _samples_inside(node, low, high)
        found = np.flatnonzero(reached)
        if not len(found):
            continue
        where = spans[found[0]].where(float(earliest[found[0]]), float(latest[found[0]]))
        more = f" (and {len(found) - 1} more such stretch(es))" if len(found) > 1 else ""
        lines.append(f"telemetry/{node.node}.*: node {node.node} has samples {where}{more}, when no meter of "
                     f"the node was sampling ({rr.EVENTS_FILE}): copied samples (a chunk copied under a new "
                     "name, its times shifted?); no figure of the node can be right: remove them")
    if len(lines) > SHOWN:
        lines = lines[:SHOWN] + [f"... and {len(lines) - SHOWN} more node(s) with samples from when none "
                                 "of their meters was sampling"]
    return lines
