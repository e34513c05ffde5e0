"""The config's recorded settings against what the meter and the chunks say.

config.yaml's `telemetry.sampling_interval_s` sets the gap threshold
(GAP_FACTOR intervals) every chunk is integrated with. A value altered after the
run (or a wrong one written by another tool) turns every interval into a gap, or
every gap into energy. Two witnesses say how the run sampled:

- the meter's `sampling` events (record/events.py): the interval it was asked for and the
  median one it achieved. A config that no event's request matches was changed after the
  run: a finding. Where the chunks agree with what the sampler achieved (within a factor
  2), a slow sampler (a loaded host, a slow sensor read) is honest: gaps are judged at the
  achieved interval and the report says so in a note, not a finding.
- without such an event (an older record, another writer, a run killed before its first
  flush), the chunks' own timestamps: where the config's interval is off from them by more
  than GAP_FACTOR, the chunks' interval is used and the contradiction is a finding.

A config.yaml and events.jsonl both edited to agree are beyond this check's reach.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from olmo_green import record as rr
from olmo_green.integrate import GAP_FACTOR
from olmo_green.record.events import EVENT_SAMPLING
from olmo_green.record.summaries import stored_intervals_s

# How far the chunks' median interval may be from the sampler's achieved one and still be its
# witness: the event's median covers the whole run (or its start), the chunks' the first chunk.
AGREE_FACTOR = 2.0


@dataclass(frozen=True)
class IntervalVerdict:
    """The interval gaps are judged at (None: each chunk's own), a finding, and a note."""

    interval_s: float | None
    finding: str | None = None
    note: str | None = None


def judged_interval(run_dir: str | Path, config_s: float | None) -> IntervalVerdict:
    """config.yaml's sampling interval (None: it says none) against the meter's `sampling`
    events and the chunks' timestamps (module docstring)."""
    if not config_s:
        return IntervalVerdict(None)
    node, observed_s = _observed(run_dir)
    events = [e for e in rr.read_events(run_dir) if e["kind"] == EVENT_SAMPLING and _positive(e)]
    if not events:
        return _unwitnessed(config_s, observed_s)
    finding = None
    if not any(math.isclose(e["requested_interval_s"], config_s, rel_tol=1e-9) for e in events):
        finding = (f"config.yaml says telemetry.sampling_interval_s {config_s:g} s but the meter was asked "
                   f"for {events[-1]['requested_interval_s']:g} s (events.jsonl, `sampling`): config.yaml "
                   "was changed after the run; gaps are judged at the meter's interval; correct config.yaml")
        config_s = events[-1]["requested_interval_s"]
    ours = [e for e in events if e.get("node") == node] or events
    event = ours[-1]  # the close's, or the early one of a killed run
    achieved_s = event["achieved_interval_s"]
    if observed_s is None or not _agree(observed_s, achieved_s):
        verdict = _unwitnessed(config_s, observed_s)
        return IntervalVerdict(verdict.interval_s, finding or verdict.finding)
    if achieved_s <= GAP_FACTOR * config_s:
        return IntervalVerdict(config_s, finding)
    note = (f"Sampling: asked for {config_s:g} s, the sampler managed {achieved_s:.3g} s (median) on node "
            f"{event.get('node', node)}; gaps judged at the achieved interval")
    return IntervalVerdict(achieved_s, finding, note)


def _unwitnessed(config_s: float, observed_s: float | None) -> IntervalVerdict:
    """No event to go by: the chunks' interval where the config's contradicts it (a finding)."""
    contradiction = interval_contradiction(config_s, observed_s)
    return IntervalVerdict(observed_s if contradiction else config_s, contradiction)


def _positive(event: dict) -> bool:
    # read_events keeps only finite numbers >= 0 (or absent) in these fields; 0 is no interval
    return all(isinstance(event.get(k), (int, float)) and event[k] > 0
               for k in ("requested_interval_s", "achieved_interval_s"))


def _agree(observed_s: float, achieved_s: float) -> bool:
    return achieved_s / AGREE_FACTOR <= observed_s <= achieved_s * AGREE_FACTOR


def _observed(run_dir: str | Path) -> tuple[str | None, float | None]:
    """The record's first node and its median sample interval: its stored summaries' (any
    setting), else its first chunk's timestamps (one chunk read); None where neither tells."""
    listing = rr.chunk_listing(run_dir)
    if not listing:
        return None, None
    node, paths = next(iter(listing.items()))
    stored = stored_intervals_s(run_dir, node)  # None: none stored, or of the old format: read a chunk
    if stored is not None and len(stored):
        return node, float(np.median(stored))
    for path in paths[:1]:
        try:
            samples, _ = rr.read_sample_chunk(path)
        except (OSError, ValueError, UnicodeError):
            return node, None
        intervals = [np.diff(np.unique(rows["time_s"].to_numpy(float)))
                     for _, rows in samples.groupby("device", sort=False)]
        intervals = np.concatenate(intervals) if intervals else np.zeros(0)
        return node, float(np.median(intervals)) if len(intervals) else None
    return node, None


def interval_contradiction(config_s: float, observed_s: float | None) -> str | None:
    """A finding where the config's interval would misjudge gaps in the chunks by GAP_FACTOR or more."""
    if observed_s is None or not np.isfinite(observed_s) or observed_s <= 0:
        return None
    # Only a config that claims faster sampling than the chunks show is flagged: it would turn real
    # intervals into gaps and drop their energy (finding 3). Samples denser than the config are normal
    # (the meter also reads at every step boundary, so a short run's median interval is tiny).
    if observed_s > GAP_FACTOR * config_s:
        return (f"config.yaml says telemetry.sampling_interval_s {config_s:g} s but the chunks sample every "
                f"{observed_s:.3g} s (median): the chunks' interval is used for gaps; correct config.yaml")
    return None
