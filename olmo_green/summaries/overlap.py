"""Two runs holding the same device over the same time: a copy, or energy counted twice.

Whole-chunk hashes (identity.py) miss a copied run whose chunk was cut to a prefix, a
suffix or a slice, or re-sorted: its hash differs, and with its run_id removed it reads as
another run. What they cannot hide is time: per run, each (node, device, domain) spans
[first_s, last_s] in its chunk summaries. Where two runs' spans of one device meet, the
samples of both inside the overlap are read (only the chunks whose span meets it, only
that device) and compared:

- the same time with the same reading (time_s, power_w and energy_j equal exactly: a
  format conversion keeps the values, as the chunk hash assumes) is a copied sample;
- a measured device (not "simulated" nor "replay", integrate.SOURCE_METHODS) read by both
  runs over a stretch of time is one physical device measured twice, its energy counted
  twice, where both read one counter: merged by time, the readings climb as one counter
  does (a drop only where one of the runs drops too). Counters that interleave up and down
  are two devices under one name: nvml and amdsmi name a GPU by its index among the job's
  visible ones, so two jobs sharing a node both hold a "0". A device without counter
  readings cannot tell, and is refused (the energy may be counted twice);
- two simulated (or replayed) runs at one time on one machine with different samples (two
  `olmo-green train` in parallel on a laptop, one hostname) are two runs: both count.

Runs at different times cost only the comparison of spans: one sort per device key, no
chunk read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green import record as rr
from olmo_green.integrate import SOURCE_METHODS
from olmo_green.summaries.samedevice import one_device

KEY = ["node", "device", "domain"]
SPAN_COLUMNS = [*KEY, "source", "first_s", "last_s", "path"]
READINGS = ["power_w", "energy_j"]


def chunk_spans(devices: pd.DataFrame, paths: Sequence[Path]) -> pd.DataFrame:
    """Each chunk's span of each device (SPAN_COLUMNS), from a node's summary device rows."""
    if not len(devices) or "first_s" not in devices:
        return pd.DataFrame(columns=SPAN_COLUMNS)
    by_name = {path.name: str(path) for path in paths}
    rows = devices.dropna(subset=["first_s", "last_s"])
    return rows.assign(path=rows["chunk"].map(by_name))[SPAN_COLUMNS].dropna(subset=["path"])


def joined_spans(spans: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The spans of a run's nodes in one frame."""
    spans = [s for s in spans if len(s)]
    return pd.concat(spans, ignore_index=True) if spans else pd.DataFrame(columns=SPAN_COLUMNS)


def overlap_findings(inputs: Sequence[str | Path], spans: Sequence[pd.DataFrame],
                     judged: Callable[[int, int], bool]) -> list[str]:
    """One line per pair of inputs (not one run) holding one device over the same time and
    sharing samples, or measuring it twice; `judged(a, b)`: the pair was named already."""
    candidates = _overlapping(spans)
    if not len(candidates):
        return []
    lines, named, chunks = [], set(), _Chunks(spans)
    for a, b, key in candidates.sort_values(["a", "b"], kind="stable").itertuples(index=False, name=None):
        if (a, b) in named or judged(a, b):
            continue
        why = _judge(chunks.spans(a, key), chunks.spans(b, key), key, chunks)
        if why is not None:
            named.add((a, b))
            lines.append(f"{inputs[a]} and {inputs[b]} {why}")
    return lines


def _run_spans(spans: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Per input and device key: the span over all its chunks, and whether it is measured."""
    frames = [s.assign(run=i) for i, s in enumerate(spans) if len(s)]
    if not frames:
        return pd.DataFrame(columns=["run", *KEY, "first_s", "last_s", "measured"])
    spans_all = pd.concat(frames, ignore_index=True)
    spans_all["measured"] = ~spans_all["source"].astype(str).isin(SOURCE_METHODS)
    return spans_all.groupby(["run", *KEY], sort=False, observed=True).agg(
        first_s=("first_s", "min"), last_s=("last_s", "max"), measured=("measured", "any")).reset_index()


def _overlapping(spans: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """(input a, input b, key) pairs whose spans of one device meet, a < b: a sweep per key
    (sorted by start; a span meets an earlier one iff it starts before their running end)."""
    runs = _run_spans(spans)
    if runs["run"].nunique() < 2:
        return pd.DataFrame(columns=["a", "b", "key"])
    runs = runs.sort_values([*KEY, "first_s"], kind="stable", ignore_index=True)
    same_key = runs[KEY].eq(runs[KEY].shift()).all(axis=1).to_numpy()
    before = runs.groupby(KEY, sort=False, observed=True)["last_s"].cummax().shift().to_numpy()
    joins = same_key & (runs["first_s"].to_numpy() <= np.where(same_key, before, -np.inf))
    cluster = np.cumsum(~joins)  # a new cluster wherever a span starts after all before it end
    shared = pd.Series(cluster).duplicated(keep=False).to_numpy()  # clusters of two spans or more
    pairs = []
    for _, group in runs[shared].groupby(cluster[shared], sort=False):
        pairs += _pairs_in(group)
    return pd.DataFrame(pairs, columns=["a", "b", "key"])


def _pairs_in(group: pd.DataFrame) -> list[tuple[int, int, tuple]]:
    """The overlapping pairs of one cluster (few rows: only runs that meet in time)."""
    rows = list(group[["run", "first_s", "last_s", *KEY]].itertuples(index=False, name=None))
    pairs = []
    for i, (run_i, _, last_i, *key) in enumerate(rows):
        for run_j, first_j, _, *_ in rows[i + 1:]:
            if first_j <= last_i and run_i != run_j:
                pairs.append((min(run_i, run_j), max(run_i, run_j), tuple(key)))
    return pairs


def _judge(mine: pd.DataFrame, theirs: pd.DataFrame, key: tuple, chunks: _Chunks) -> str | None:
    """Why two inputs' samples of one device (their chunk spans of it) cannot both count; None
    if they can."""
    lo = max(mine["first_s"].min(), theirs["first_s"].min())
    hi = min(mine["last_s"].max(), theirs["last_s"].max())
    a, b = chunks.samples(mine, key, lo, hi), chunks.samples(theirs, key, lo, hi)
    device = f"device {key[1]} ({key[2]}) of node {key[0]}"
    when = _when(lo, hi)
    shared = len(a.merge(b, on=["time_s", *READINGS], how="inner"))  # NaN matches NaN in a merge
    if shared and 2 * shared >= min(len(a), len(b)):  # a coincidence is one sample, a copy is most
        return (f"hold {shared} identical sample(s) of {device} {when}: a copy of one run, or samples "
                "copied between runs; they would count twice. Report one of them")
    sources = [set(spans["source"].astype(str)) for spans in (mine, theirs)]
    if sources[0] == sources[1] and not sources[0] & set(SOURCE_METHODS) and hi > lo and one_device(a, b):
        return (f"both measured {device} {when} (source {', '.join(sorted(sources[0]))}): one device's "
                "energy would count twice (two jobs sharing one device, or one run recorded twice). "
                "Report one of them")
    return None


class _Chunks:
    """The inputs' chunk spans by device, and the chunks read: each once, split by device."""

    def __init__(self, spans: Sequence[pd.DataFrame]) -> None:
        self._spans = spans
        self._by_key: dict[int, dict[tuple, pd.DataFrame]] = {}
        self._read: dict[str, dict[tuple, pd.DataFrame]] = {}

    def spans(self, run: int, key: tuple) -> pd.DataFrame:
        if run not in self._by_key:
            self._by_key[run] = dict(tuple(self._spans[run].groupby(KEY, sort=False, observed=True)))
        return self._by_key[run][key]

    def samples(self, spans: pd.DataFrame, key: tuple, lo: float, hi: float) -> pd.DataFrame:
        """The device's samples in [lo, hi], from only the chunks whose span meets it."""
        frames = [pd.DataFrame(columns=["time_s", *READINGS], dtype=float)]
        for path in spans.loc[(spans["first_s"] <= hi) & (spans["last_s"] >= lo), "path"].unique():
            if path not in self._read:
                self._read[path] = _by_device(Path(path))
            device = self._read[path].get(key)
            if device is not None:
                frames.append(device[device["time_s"].between(lo, hi)])
        return pd.concat(frames, ignore_index=True)


def _by_device(path: Path) -> dict[tuple, pd.DataFrame]:
    try:
        samples = rr.read_sample_chunk(path)[0]
    except (OSError, ValueError, UnicodeError):  # unreadable: the report names it, run by run
        return {}
    keys = samples[KEY].astype(str)
    readings = samples[["time_s", *READINGS]].astype(float)
    return dict(tuple(readings.groupby([keys[k] for k in KEY], sort=False)))


def _when(lo: float, hi: float) -> str:
    """The overlap in UTC, to the millisecond (test runs overlap for a fraction of a second)."""
    def at(t: float) -> str:
        return datetime.fromtimestamp(t, tz=timezone.utc).isoformat(timespec="milliseconds")
    return f"from {at(lo)} to {at(hi)} ({hi - lo:.3f} s)"
