"""events.jsonl's gap events against the samples: a gap the samples ran through is invented.

A source that fails gives no samples until it recovers (telemetry/sampler.py): its
gap_end says when (time_s) and for how long (duration_s, from its gap_start). So
the span [time_s - duration_s, time_s] holds none of that source's samples, and
the interval across it is at least that long. A span longer than a chunk
summary's gap limit (max_gap_s, a few sampling intervals) is then a gap of the
summaries too, at least that many seconds of it. A gap event whose node's
samples (of its source, where it names one) ran through its span without such a
hole contradicts the telemetry: `report` does not count it (the samples win, with
a note) and `report --verify` names it. A span no longer than the gap limit, or
one the samples do not reach, cannot be judged and counts as before.

Only the chunk summaries' device rows are read (first and last sample, gap
seconds, gap limit per chunk, and the seams between chunks), compacted per
device into stretches (sample_stretches): consecutive chunks without a gap
become one. O(chunks + events), never raw samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from olmo_green.record.events import EVENT_GAP_END, EVENT_GAP_START

STRETCH_COLUMNS = ["device", "domain", "source", "start_s", "end_s", "hole_s", "limit_s"]
KEYS = ["node", "device", "domain"]
SHOWN = 5  # contradicted gap events named one a line; more are counted in one line


def sample_stretches(valid: pd.DataFrame) -> pd.DataFrame:
    """Per device, the stretches of time its chunks cover (STRETCH_COLUMNS), in time order.

    `valid`: one row per chunk and device, sorted by device and chunk order, with the gap
    seconds inside the chunk (gap_s) and in the seam that follows it (seam_gap_s,
    summaries/merge.py). A row covers its first sample to the next chunk's first (or its own
    last); consecutive rows without gap seconds are merged, a row with some stays alone.
    """
    if not len(valid):
        return pd.DataFrame(columns=STRETCH_COLUMNS)
    codes = device_codes(valid)
    first = valid["first_s"].to_numpy(float)
    end = valid["last_s"].to_numpy(float).copy()
    same = np.r_[codes[:-1] == codes[1:], False]
    end[same] = np.maximum(end[same], first[1:][same[:-1]])
    seam = valid["seam_gap_s"].to_numpy(float) if "seam_gap_s" in valid else np.zeros(len(valid))
    hole = np.nan_to_num(valid["gap_s"].to_numpy(float)) + np.nan_to_num(seam)
    limit = valid["max_gap_s"].to_numpy(float)
    limit = np.where(np.isnan(limit), np.inf, limit)
    holed = hole > 0
    # a new stretch at each device's first row, at a row with a hole and at the row after one
    starts = np.r_[True, codes[1:] != codes[:-1]] | holed | np.r_[False, holed[:-1]]
    at = np.flatnonzero(starts)  # each stretch's rows are contiguous: reduce between its starts
    labels = {k: valid[k].to_numpy()[at].astype(str) for k in ("device", "domain", "source")}
    return pd.DataFrame({**labels, "start_s": np.fmin.reduceat(first, at), "end_s": np.fmax.reduceat(end, at),
                         "hole_s": np.add.reduceat(hole, at), "limit_s": np.fmax.reduceat(limit, at)})


def device_codes(rows: pd.DataFrame) -> np.ndarray:
    """One integer per (node, device, domain) of `rows` (a cheap groupby().ngroup())."""
    joined = rows[KEYS[0]].astype(str)
    for key in KEYS[1:]:
        joined = joined + "\x00" + rows[key].astype(str)
    return pd.factorize(joined)[0]


@dataclass(frozen=True)
class GapClaim:
    """A gap_end of events.jsonl (and its gap_start, where one opened it): the span it claims."""

    end_index: int  # the gap_end's place in the events
    start_index: int | None  # its gap_start's, where one preceded it
    node: str  # "" where the event names none: every node's samples are held against it
    source: str  # "" where it names none: every device of the node
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Contradicted:
    """A gap event whose span the samples ran through."""

    claim: GapClaim
    devices: int  # devices whose samples reach into the span: every one of them without the hole
    inside: int  # of them, those with a sample (a chunk's first or last) strictly inside the span
    hole_s: float  # the most gap seconds one that covers the span has around it
    limit_s: float  # the largest gap limit among those (longer intervals would be gaps); 0: none covers

    def line(self) -> str:
        c = self.claim
        what = (c.node or "a node") + (f" (source {c.source})" if c.source else "")
        how = []
        if self.limit_s > 0:
            how.append(f"no interval over {self.limit_s:.3g} s" if self.hole_s <= 0
                       else f"only {self.hole_s:.3g} s of gaps around it")
        if self.inside:
            how.append(f"{self.inside} with samples inside it")
        return (f"events.jsonl: the gap_start/gap_end of {what} from {c.start_s:.3f} to {c.end_s:.3f} "
                f"(UNIX s, {c.end_s - c.start_s:.3g} s) is contradicted by the samples: they continued at "
                f"their normal spacing through it ({self.devices} device(s), {', '.join(how)})")


def finite_number(value: object) -> float | None:
    """A finite number, or None (text, null, a bool, inf or NaN in an event: malformed, so absent)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def gap_claims(events: Sequence[dict]) -> list[GapClaim]:
    """Every gap_end with the span it claims: [time_s - duration_s, time_s], widened to its
    gap_start's time where one of the same node and source opened it."""
    open_starts: dict[tuple[str, str], int] = {}
    claims = []
    for index, event in enumerate(events):
        kind = event.get("kind")
        if kind not in (EVENT_GAP_START, EVENT_GAP_END):
            continue
        key = (str(event.get("node") or ""), str(event.get("source") or ""))
        if kind == EVENT_GAP_START:
            # the sampler opens one gap a source at a time: a gap_start no gap_end closed (an
            # attempt that ended inside its gap) is superseded by the next one, not paired later
            open_starts[key] = index
            continue
        start_index = open_starts.pop(key, None)
        end_s = finite_number(event.get("time_s"))
        if end_s is None:
            continue
        begins = []
        duration_s = finite_number(event.get("duration_s"))
        if duration_s is not None and duration_s > 0:
            begins.append(end_s - duration_s)
        if start_index is not None:
            opened_s = finite_number(events[start_index].get("time_s"))
            if opened_s is not None and opened_s < end_s:
                begins.append(opened_s)
        if begins:
            claims.append(GapClaim(index, start_index, key[0], key[1], min(begins), end_s))
    return claims


def contradicted_gaps(events: Sequence[dict], nodes: Sequence) -> list[Contradicted]:
    """The gap events the nodes' samples contradict (`nodes`: NodeEnergy with `stretches`).

    A device of the event's node (and source, where it names one) refutes the span where it has a
    sample strictly inside it, or where its samples cover it, the span is longer than their gap
    limit and they hold fewer gap seconds around it than the span lasts. The event is
    contradicted where at least one device reaches into the span and every such device refutes it.
    """
    claims = gap_claims(events)
    if not claims:
        return []
    start = np.array([c.start_s for c in claims])
    end = np.array([c.end_s for c in claims])
    span = end - start
    node_of = np.array([c.node for c in claims], dtype=object)
    source_of = np.array([c.source for c in claims], dtype=object)
    touching, refuting, inside = (np.zeros(len(claims), dtype=int) for _ in range(3))
    hole, limit = np.zeros(len(claims)), np.zeros(len(claims))
    for node in nodes:
        stretches = getattr(node, "stretches", None)
        if stretches is None or not len(stretches):
            continue
        on_node = (node_of == "") | (node_of == node.node)
        if not on_node.any():
            continue
        for _, rows in stretches.groupby(["device", "domain"], sort=False):
            source = str(rows["source"].iloc[0])
            asked = on_node & ((source_of == "") | (source_of == source))
            if not asked.any():
                continue
            seen = _seen(rows, start, end)
            covers, within = asked & np.isfinite(seen.held_s), asked & seen.inside
            # a real gap of that length would be a gap of the summaries: at least `span` seconds
            refutes = within | (covers & (span > seen.limit_s) & (seen.held_s < span))
            touching += covers | within
            refuting += refutes
            inside += within
            hole = np.where(covers, np.fmax(hole, np.nan_to_num(seen.held_s)), hole)
            limit = np.where(covers, np.fmax(limit, seen.limit_s), limit)
    found = (touching > 0) & (refuting == touching)
    return [Contradicted(claims[i], int(touching[i]), int(inside[i]), float(hole[i]), float(limit[i]))
            for i in np.flatnonzero(found)]


@dataclass
class _Seen:
    held_s: np.ndarray  # gap seconds of the stretches touching each span; NaN: not covered
    limit_s: np.ndarray  # the largest gap limit among them (inf where not covered)
    inside: np.ndarray  # a known sample strictly inside the span


def _seen(rows: pd.DataFrame, start: np.ndarray, end: np.ndarray) -> _Seen:
    """What one device's stretches (sorted in time) say about each span [start, end]. A stretch
    begins and ends at samples of the device (a chunk's first; its last or the next chunk's first)."""
    rows = rows.sort_values("start_s", kind="stable")
    first = rows["start_s"].to_numpy(float)
    last = np.maximum.accumulate(rows["end_s"].to_numpy(float))
    holes = np.r_[0.0, np.cumsum(rows["hole_s"].to_numpy(float))]
    limits = np.r_[rows["limit_s"].to_numpy(float), np.inf]  # a sentinel for reduceat's last index
    low = np.searchsorted(last, start, side="left")  # the first stretch ending at or after the start
    high = np.searchsorted(first, end, side="right") - 1  # the last one beginning at or before the end
    covers = (first[0] <= start) & (last[-1] >= end) & (low <= high)
    low, high = np.where(covers, low, 0), np.where(covers, high, 0)
    held = np.where(covers, holes[high + 1] - holes[low], np.nan)
    widest = np.maximum.reduceat(limits, np.column_stack([low, high + 1]).ravel())[::2]
    ends = np.sort(rows["end_s"].to_numpy(float))
    inside = ((np.searchsorted(first, end, side="left") > np.searchsorted(first, start, side="right"))
              | (np.searchsorted(ends, end, side="left") > np.searchsorted(ends, start, side="right")))
    return _Seen(held, np.where(covers, widest, np.inf), inside)


def without(events: Sequence[dict], found: Sequence[Contradicted]) -> list[dict]:
    """The events less the contradicted gap events (their gap_end and gap_start)."""
    dropped = {f.claim.end_index for f in found} | {f.claim.start_index for f in found
                                                     if f.claim.start_index is not None}
    return [e for i, e in enumerate(events) if i not in dropped]


def gap_findings(found: Sequence[Contradicted]) -> list[str]:
    """`report --verify`'s lines: one a contradicted gap event (the first few, then a count)."""
    return _lines(found, "an edited events.jsonl?")


def gap_notes(found: Sequence[Contradicted]) -> list[str]:
    """`report`'s notes: the samples win; the events are not counted as gaps."""
    return [f"Cross-check: {line}" for line in
            _lines(found, "the samples win: not counted as a gap, nothing estimated for it")]


def _lines(found: Sequence[Contradicted], verdict: str) -> list[str]:
    lines = [f"{f.line()}; {verdict}" for f in found[:SHOWN]]
    if len(found) > SHOWN:
        lines.append(f"events.jsonl: {len(found) - SHOWN} more gap event(s) contradicted by the samples, "
                     f"which continued at their normal spacing through them; {verdict}")
    return lines
