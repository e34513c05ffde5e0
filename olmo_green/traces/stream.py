"""A trace's energy from its batches, integrated as they come: memory bounded by devices x buckets.

Each batch (traces.formats: sample columns, file order) is sorted by device and
time, joined to each device's last sample of the batches before (carried, so the
seam between two batches is integrated once), and integrated by
integrate.py's rules, called, not rewritten:

- counter where the device has counter readings (counter_step_j: a drop is a
  restart or a step back), else the trapezoid of power (trapezoid_j);
- a gap is an interval longer than GAP_FACTOR median sample periods of the
  device in the batch (default_max_gap_s; a seam is a gap when longer than the
  larger of its two batches' limits, as chunk summaries join chunks):
  integrated power counts nothing across it, a counter counts its delta.

What is kept: per device its totals (a chunk summary's device row); per
(node, domain) the energy, summed device mean power, seconds measured and
device count of each bucket (a chunk summary's domain rows, BucketStore).
finish() hands both to summaries.merge_node, the code a run record's summaries
go through, so a report reads a trace exactly as it reads a run.

The counter-or-power choice of a device is made on its first batch (a counter
reading there: counter); integrate.uses_counter decides on the whole trace
(two readings or more). Where the two differ the caller reads the file again
with the choice fixed (`forced`): never a total integrated the wrong way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from olmo_green.errors import InputFileError
from olmo_green.integrate import GAP_FACTOR, counter_step_j, trapezoid_j, uses_counter
from olmo_green.record.layout import ACCELERATOR_DOMAINS
from olmo_green.traces.buckets import BucketStore

KEYS = ("node", "device", "domain")
FINE_S = 0.5  # the fine buckets of the swings: a 1 s window needs samples at least this close
# Fine buckets over all nodes (23 days of one node): 128 MB; a longer log gets no fine series
FINE_MAX_BUCKETS = 4_000_000
STATE = ("counter", "rows", "readings", "valid", "first_s", "last_s", "first_value", "last_value",
         "energy_j", "gaps", "gap_s", "resets", "peak_w", "limit_s")


class MethodChanged(Exception):
    """A device's first batch chose counter or power and the whole trace chose the other."""

    def __init__(self, forced: dict[tuple[str, str, str], bool]) -> None:
        super().__init__(f"{len(forced)} device(s) change method")
        self.forced = forced


@dataclass
class _Batch:
    """One batch's valid samples, sorted by device and time, with the carried samples in front."""

    g: np.ndarray
    t: np.ndarray
    v: np.ndarray
    carry: np.ndarray  # the row is a device's last sample of an earlier batch
    rows: int  # file rows in the batch


@dataclass
class _Intervals:
    left: np.ndarray  # index into the batch of each interval's first sample
    g: np.ndarray
    dt: np.ndarray
    energy_j: np.ndarray
    covered_s: np.ndarray
    gap: np.ndarray


@dataclass
class DeviceState:
    """Per device, arrays indexed by a device number (grown as devices appear)."""

    keys: list[tuple[str, str, str]] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    nd: list[int] = field(default_factory=list)  # node-domain code of each device
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.arrays = {name: np.zeros(0) for name in STATE}

    def grow(self, n: int) -> None:
        have = len(self.arrays["rows"])
        if n <= have:
            return
        fill = {"first_s": np.nan, "last_s": np.nan, "first_value": np.nan, "last_value": np.nan,
                "limit_s": np.inf}
        for name, values in self.arrays.items():
            self.arrays[name] = np.r_[values, np.full(n - have, fill.get(name, 0.0))]

    def __getattr__(self, name: str) -> np.ndarray:
        arrays = self.__dict__.get("arrays", {})
        if name in arrays:
            return arrays[name]
        raise AttributeError(name)

    def __setattr__(self, name: str, value) -> None:
        # `state.rows += x` assigns back: into the arrays, which grow() replaces as devices appear
        if name in STATE:
            self.arrays[name] = value
        else:
            super().__setattr__(name, value)


class TraceIntegrator:
    """Integrates batches of samples as they come; finish() gives each node's summary frames."""

    def __init__(self, bucket_s: float, choose_bucket_s, forced: dict | None = None,
                 counter_limit_w: float | None = None) -> None:
        self.store = BucketStore(bucket_s)
        self.fine: BucketStore | None = None  # the accelerators' power at FINE_S (swings), or None
        self.fine_why = ""  # why there is none
        self.fine_decided = False
        self.counter_limit_w = counter_limit_w  # a counter rising faster on an accelerator is refused
        self.choose_bucket_s = choose_bucket_s  # span_s, keys -> the width to hold
        self.forced = forced or {}
        self.state = DeviceState()
        self.index: dict[tuple[str, str, str], int] = {}
        self.node_domains: dict[tuple[str, str], int] = {}
        self.first_s, self.last_s = np.inf, -np.inf
        self.periods: list[float] = []
        self.where = "trace"  # the file being read, for messages

    # ------------------------------------------------------------------ devices

    def _device_numbers(self, batch: pd.DataFrame) -> np.ndarray:
        """A device number per row, new devices registered (node, device, domain) as text.
        Hashing only (factorize), no sort: a batch of a million rows costs tens of ms."""
        parts = [pd.factorize(batch[k].fillna("") if batch[k].hasnans else batch[k]) for k in KEYS]
        code = np.zeros(len(batch), dtype=np.int64)
        for codes, uniques in parts:
            code = code * (len(uniques) + 1) + codes
        inverse, unique = pd.factorize(code)
        first = np.empty(len(unique), dtype=np.int64)
        first[inverse[::-1]] = np.arange(len(batch) - 1, -1, -1)  # each device's first row
        names = [[str(u) for u in uniques] for _, uniques in parts]
        sources = batch["source"] if "source" in batch else None
        numbers = np.empty(len(unique), dtype=np.int64)
        for i, row in enumerate(first.tolist()):
            key = tuple(names[k][int(parts[k][0][row])] for k in range(len(KEYS)))
            if key not in self.index:
                self._register(key, str(sources.iloc[row]) if sources is not None else "trace")
            numbers[i] = self.index[key]
        self.state.grow(len(self.state.keys))
        return numbers[inverse]

    def _register(self, key: tuple[str, str, str], source: str) -> None:
        self.index[key] = len(self.state.keys)
        self.state.keys.append(key)
        self.state.source.append(source)
        self.state.nd.append(self.node_domains.setdefault((key[0], key[2]), len(self.node_domains)))

    # ------------------------------------------------------------------ batches

    def add(self, batch: pd.DataFrame) -> None:
        if batch.empty:
            return
        g_all = self._device_numbers(batch)
        s = self.state
        time_s = batch["time_s"].to_numpy(dtype=float)
        power = batch["power_w"].to_numpy(dtype=float)
        energy = batch["energy_j"].to_numpy(dtype=float)
        size = len(s.keys)
        readings = np.bincount(g_all, np.isfinite(energy), size)
        new = (np.bincount(g_all, minlength=size) > 0) & (s.rows == 0)
        for g in np.flatnonzero(new):
            forced = self.forced.get(s.keys[g])
            s.counter[g] = float(forced) if forced is not None else float(readings[g] >= 1)
        s.rows += np.bincount(g_all, minlength=size)
        s.readings += readings
        self._widen(time_s)
        counter = s.counter[g_all] > 0
        value = np.where(counter, energy, power)
        ok = np.isfinite(value)
        part = self._sorted(g_all[ok], time_s[ok], value[ok], len(batch))
        if not len(part.g):  # nothing this batch's devices can be integrated by (all gaps)
            return
        self._check(batch, part)
        spans = self._intervals(part)
        self._decide_fine()
        self._totals(part, spans)
        self._buckets(self.store, part, spans)
        if self.fine is not None:
            self._buckets(self.fine, part, spans, only_gpu=True)
        self._carry(part)

    def _decide_fine(self) -> None:
        """On the first batch: hold the accelerators' power at FINE_S only where the log samples
        that often, and only while its span fits FINE_MAX_BUCKETS."""
        if self.fine_decided:
            return
        self.fine_decided = True
        period = self.sample_period_s()
        if period is None:
            self.fine_why = "the log's first batch has no device with two samples, so its period is unknown"
        elif period > FINE_S:
            self.fine_why = (f"the log samples every {period:.3g} s; a 1 s window needs samples {FINE_S:g} s "
                             "apart or closer (nvidia-smi -lms 100 writes 0.1 s)")
        elif self._fine_too_long():
            self.fine_why = self._too_long()
        else:
            self.fine = BucketStore(FINE_S)

    def _fine_too_long(self) -> bool:
        return (self.last_s - self.first_s) / FINE_S * max(len(self.node_domains), 1) > FINE_MAX_BUCKETS

    def _too_long(self) -> str:
        nodes = max(len(self.node_domains), 1)
        return (f"the log spans {(self.last_s - self.first_s) / 86400:.1f} days on {nodes} node(s), more "
                f"than {FINE_MAX_BUCKETS * FINE_S / 86400:.0f} node-days at {FINE_S:g} s; report it in parts "
                "to see 1 s swings")

    def _widen(self, time_s: np.ndarray) -> None:
        finite = time_s[np.isfinite(time_s)]
        if not len(finite):
            return
        self.first_s = min(self.first_s, float(finite.min()))
        self.last_s = max(self.last_s, float(finite.max()))
        width = self.choose_bucket_s(self.last_s - self.first_s, max(len(self.node_domains), 1),
                                     self.store.bucket_s)
        if self.fine is not None and self._fine_too_long():
            self.fine, self.fine_why = None, self._too_long()
        if width > self.store.bucket_s:
            factor = int(round(width / self.store.bucket_s))
            opened = self._open(self.store)["bucket"]
            opened[np.isfinite(opened)] = np.floor(opened[np.isfinite(opened)] / factor)
            self.store.widen(width)

    def _sorted(self, g: np.ndarray, t: np.ndarray, v: np.ndarray, rows: int) -> _Batch:
        """The batch's valid samples after each device's carried sample, by device then time; of
        two samples at one time the later row is kept (curve_from_samples keeps the last)."""
        s = self.state
        present = np.flatnonzero(np.bincount(g, minlength=len(s.keys)))
        carried = present[np.isfinite(s.last_s[present])]
        g = np.r_[carried, g]
        t = np.r_[s.last_s[carried], t]
        v = np.r_[s.last_value[carried], v]
        carry = np.r_[np.ones(len(carried), dtype=bool), np.zeros(len(g) - len(carried), dtype=bool)]
        if len(g) > 1 and not ((np.diff(g) > 0) | ((np.diff(g) == 0) & (np.diff(t) >= 0))).all():
            order = np.argsort(t, kind="stable")
            order = order[np.argsort(g[order], kind="stable")]
            g, t, v, carry = g[order], t[order], v[order], carry[order]
        return _Batch(g, t, v, carry, rows)

    def _check(self, batch: pd.DataFrame, part: _Batch) -> None:
        """A carried sample must stay first of its device (time never goes back across
        batches), and one time holds one value per device; then duplicates go."""
        same = part.g[1:] == part.g[:-1]
        late = np.flatnonzero(part.carry[1:] & same)
        if len(late):
            raise InputFileError(f"{self.where}: time goes back for device {self._name(part.g[late[0] + 1])} "
                                 "between "
                                 "batches of the log; sort the log by time within each device")
        repeat = same & (part.t[1:] == part.t[:-1])
        clash = np.flatnonzero(repeat & (part.v[1:] != part.v[:-1]))
        if len(clash):
            i = int(clash[0])
            raise InputFileError(f"{self.where}: time_s {float(part.t[i])!r} repeats for device "
                                 f"{self._name(part.g[i])} with another value; keep one row per device "
                                 "and time")
        if repeat.any():
            keep = np.r_[~repeat, True]
            carry_dropped = part.carry & ~keep
            # a carried sample replaced by a row at its time: the new row stands in its place
            part.carry = np.r_[False, carry_dropped[:-1]] | part.carry
            part.g, part.t, part.v, part.carry = part.g[keep], part.t[keep], part.v[keep], part.carry[keep]

    def _name(self, g: int) -> str:
        node, device, domain = self.state.keys[int(g)]
        return f"{device} ({node}, {domain})"

    def _intervals(self, part: _Batch) -> _Intervals:
        s = self.state
        left = np.flatnonzero(part.g[1:] == part.g[:-1])
        g = part.g[left]
        dt = part.t[left + 1] - part.t[left]
        seam = part.carry[left]
        limit = np.full(len(s.keys), np.inf)
        inner = ~seam
        if inner.any():  # default_max_gap_s per device and batch: GAP_FACTOR x median period
            medians = pd.Series(dt[inner]).groupby(g[inner]).median()
            limit[medians.index.to_numpy()] = GAP_FACTOR * medians.to_numpy()
            self._note_periods(medians)
        lim = np.where(seam, np.maximum(limit[g], s.limit_s[g]), limit[g])
        present = np.flatnonzero(np.bincount(part.g[~part.carry], minlength=len(s.keys)))
        s.limit_s[present] = limit[present]
        gap = dt > lim
        counter = s.counter[g] > 0
        step_j, reset = counter_step_j(part.v[left], part.v[left + 1])
        power_j = trapezoid_j(part.t, part.v)[left] if len(part.t) > 1 else np.zeros(0)
        power_j = np.where(gap | (dt <= 0), 0.0, power_j)
        energy_j = np.where(counter, step_j, power_j)
        self._check_rate(g, dt, counter & ~reset & (part.v[left + 1] >= part.v[left]), step_j)
        covered = np.where(counter | ~gap, dt, 0.0)
        n = len(s.keys)
        s.gaps += np.bincount(g, gap, n)
        s.gap_s += np.bincount(g, np.where(gap, dt, 0.0), n)
        s.resets += np.bincount(g, counter & reset, n)
        s.energy_j += np.bincount(g, energy_j, n)
        return _Intervals(left, g, dt, energy_j, covered, gap)

    def _check_rate(self, g: np.ndarray, dt: np.ndarray, rising: np.ndarray, step_j: np.ndarray) -> None:
        """A counter that rises faster than an accelerator can draw: a jump, or mJ read as J."""
        if self.counter_limit_w is None or not rising.any():
            return
        with np.errstate(divide="ignore", invalid="ignore"):
            fast = rising & (dt > 0) & (step_j / dt > self.counter_limit_w) & self._gpu_mask()[g]
        if fast.any():
            i = int(np.flatnonzero(fast)[0])
            raise InputFileError(f"{self.where}: energy_j of device {self._name(g[i])} rises {step_j[i]:g} J "
                                 f"in {dt[i]:g} s "
                                 f"({step_j[i] / dt[i]:g} W), more than an accelerator draws "
                                 f"({self.counter_limit_w:g} W); give the counter in J (not mJ), and check "
                                 "the counter for a jump")

    def _note_periods(self, medians: pd.Series) -> None:
        if len(self.periods) < 4096:
            self.periods.extend(medians.to_numpy(float)[: 4096 - len(self.periods)].tolist())

    def _totals(self, part: _Batch, spans: _Intervals) -> None:
        s = self.state
        own = ~part.carry
        g, t, v = part.g[own], part.t[own], part.v[own]
        if not len(g):
            return
        n = len(s.keys)
        s.valid += np.bincount(g, minlength=n)
        starts = np.r_[True, g[1:] != g[:-1]]
        ends = np.r_[g[1:] != g[:-1], True]
        fresh = starts & ~np.isfinite(s.first_s[g])
        s.first_s[g[fresh]], s.first_value[g[fresh]] = t[fresh], v[fresh]
        powered = s.counter[g] == 0
        np.maximum.at(s.peak_w, g[powered], v[powered])
        s.last_s[g[ends]], s.last_value[g[ends]] = t[ends], v[ends]

    def _buckets(self, store: BucketStore, part: _Batch, spans: _Intervals, only_gpu: bool = False) -> None:
        """Each device's energy and measured seconds per bucket: whole buckets inside an interval
        as runs, the partial buckets at both ends and each sample's own bucket as pieces."""
        s = self.state
        width = store.bucket_s
        nd = np.asarray(s.nd, dtype=np.int64)
        gpu = self._gpu_mask() if only_gpu else None
        t0, t1 = part.t[spans.left], part.t[spans.left + 1]
        lo, hi = np.floor(t0 / width), np.floor(t1 / width)
        # pieces: per sample its own bucket (a point), per interval its first and last bucket
        n = len(part.g)
        piece_g = np.repeat(part.g, 3)
        piece_b = np.repeat(np.floor(part.t / width), 3)
        piece_j, piece_s = np.zeros(3 * n), np.zeros(3 * n)
        used = np.zeros(3 * n, dtype=bool)
        used[0::3] = True
        one = lo == hi
        with np.errstate(divide="ignore", invalid="ignore"):
            first_share = np.where(one, 1.0, ((lo + 1) * width - t0) / spans.dt)
            last_share = np.where(one, 0.0, (t1 - hi * width) / spans.dt)
        a, b = 3 * spans.left + 1, 3 * spans.left + 2
        piece_b[a], piece_b[b] = lo, hi
        piece_j[a], piece_s[a] = spans.energy_j * first_share, spans.covered_s * first_share
        piece_j[b], piece_s[b] = spans.energy_j * last_share, spans.covered_s * last_share
        used[a], used[b] = True, ~one
        self._open_pieces(store, part, piece_j, piece_s)
        keep = used if gpu is None else used & gpu[piece_g]
        self._close(store, piece_g[keep], piece_b[keep].astype(np.int64), piece_j[keep], piece_s[keep], nd)
        inner = (hi - lo > 1) & (spans.covered_s > 0)
        if gpu is not None:
            inner &= gpu[spans.g]
        g = spans.g[inner]
        rate = spans.energy_j[inner] / spans.dt[inner]
        share = width / spans.dt[inner]
        for key in np.flatnonzero(np.bincount(nd[g], minlength=len(self.node_domains))):
            mine = nd[g] == key
            store.add_runs(int(key), (lo[inner][mine] + 1).astype(np.int64),
                           (hi[inner][mine] - 1).astype(np.int64),
                           spans.energy_j[inner][mine] * share[mine], rate[mine],
                           spans.covered_s[inner][mine] * share[mine])

    def _gpu_mask(self) -> np.ndarray:
        return np.array([k[2] in ACCELERATOR_DOMAINS for k in self.state.keys], dtype=bool)

    def _open_pieces(self, store: BucketStore, part: _Batch, piece_j: np.ndarray,
                     piece_s: np.ndarray) -> None:
        """A device's bucket left open by the batch before goes onto its first sample here."""
        opened = self._open(store)
        starts = np.flatnonzero(np.r_[True, part.g[1:] != part.g[:-1]])
        g = part.g[starts]
        has = np.isfinite(opened["bucket"][g])
        piece_j[3 * starts[has]] += opened["energy_j"][g[has]]
        piece_s[3 * starts[has]] += opened["covered_s"][g[has]]
        opened["bucket"][g[has]] = np.nan

    def _open(self, store: BucketStore) -> dict[str, np.ndarray]:
        """The open (last, unfinished) bucket of each device, per store."""
        if not hasattr(store, "opened"):
            store.opened = {"bucket": np.zeros(0), "energy_j": np.zeros(0), "covered_s": np.zeros(0)}
        have = len(store.opened["bucket"])
        n = len(self.state.keys)
        if have < n:
            store.opened = {k: np.r_[v, np.full(n - have, np.nan if k == "bucket" else 0.0)]
                            for k, v in store.opened.items()}
        return store.opened

    def _close(self, store: BucketStore, g: np.ndarray, bucket: np.ndarray, energy_j: np.ndarray,
               covered_s: np.ndarray, nd: np.ndarray) -> None:
        """Pieces (sorted by device then bucket) summed per device bucket; each device's last
        bucket stays open for the next batch, the others go to the store."""
        if not len(g):
            return
        new = np.r_[True, (g[1:] != g[:-1]) | (bucket[1:] != bucket[:-1])]
        starts = np.flatnonzero(new)
        gb, bb = g[starts], bucket[starts]
        ej, cs = np.add.reduceat(energy_j, starts), np.add.reduceat(covered_s, starts)
        last = np.r_[gb[1:] != gb[:-1], True]
        opened = self._open(store)
        opened["bucket"][gb[last]] = bb[last]
        opened["energy_j"][gb[last]], opened["covered_s"][gb[last]] = ej[last], cs[last]
        closed = ~last
        self._to_store(store, gb[closed], bb[closed], ej[closed], cs[closed], nd)

    @staticmethod
    def _to_store(store: BucketStore, g: np.ndarray, bucket: np.ndarray, energy_j: np.ndarray,
                  covered_s: np.ndarray, nd: np.ndarray) -> None:
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_w = np.where(covered_s > 0, energy_j / covered_s, 0.0)
        keys = nd[g]
        for key in np.flatnonzero(np.bincount(keys, minlength=int(nd.max()) + 1 if len(nd) else 0)):
            mine = keys == key
            store.add(int(key), bucket[mine], energy_j[mine], mean_w[mine], covered_s[mine],
                      np.ones(int(mine.sum())))

    def _carry(self, part: _Batch) -> None:
        """Nothing to do: each device's last sample is state.last_s/last_value (set by _totals)."""

    # ------------------------------------------------------------------ the end

    def flush(self) -> None:
        """Close every open bucket (the trace has ended)."""
        nd = np.asarray(self.state.nd, dtype=np.int64)
        for store in (self.store, self.fine):
            if store is None:
                continue
            opened = self._open(store)
            g = np.flatnonzero(np.isfinite(opened["bucket"]))
            self._to_store(store, g, opened["bucket"][g].astype(np.int64), opened["energy_j"][g],
                           opened["covered_s"][g], nd)
            opened["bucket"][g] = np.nan

    def check_methods(self) -> None:
        """MethodChanged where the whole trace's rule disagrees with a first batch's choice."""
        s = self.state
        wrong = {key: uses_counter(int(s.readings[g])) for g, key in enumerate(s.keys)
                 if uses_counter(int(s.readings[g])) != bool(s.counter[g])}
        if wrong:
            raise MethodChanged({**self.forced, **wrong})

    def sample_period_s(self) -> float | None:
        """The log's typical sampling period: the median of the devices' median periods."""
        return float(np.median(self.periods)) if self.periods else None

    def device_frame(self, node: str) -> pd.DataFrame:
        """The node's devices as a chunk summary's device rows (summaries/build.DEVICE_COLUMNS)."""
        s = self.state
        mine = [g for g, key in enumerate(s.keys) if key[0] == node]
        a = {name: values[mine] for name, values in s.arrays.items()}
        counter = a["counter"] > 0
        return pd.DataFrame({
            "node": node, "device": [s.keys[g][1] for g in mine], "domain": [s.keys[g][2] for g in mine],
            "source": [s.source[g] for g in mine], "rows": a["rows"].astype(np.int64),
            "counter_readings": a["readings"].astype(np.int64), "counter": counter,
            "valid": a["valid"].astype(np.int64), "first_s": a["first_s"], "last_s": a["last_s"],
            "first_value": a["first_value"], "last_value": a["last_value"], "energy_j": a["energy_j"],
            "gaps": a["gaps"].astype(np.int64), "gap_s": a["gap_s"], "resets": a["resets"].astype(np.int64),
            "peak_w": np.where(counter, 0.0, a["peak_w"]), "max_gap_s": a["limit_s"], "order": 0,
        })

    def domain_frame(self, store: BucketStore, node: str) -> pd.DataFrame:
        """The node's buckets per domain as a chunk summary's domain rows (build.DOMAIN_COLUMNS)."""
        frames = [store.frame(code).assign(node=node, domain=domain)
                  for (name, domain), code in self.node_domains.items() if name == node]
        frames = [f for f in frames if len(f)]
        columns = ["node", "domain", "bucket", "energy_j", "power_w", "covered_s", "devices"]
        return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)

    def nodes(self) -> list[str]:
        return sorted({key[0] for key in self.state.keys})

    def single_sample_devices(self) -> list[tuple[str, str]]:
        """(device, node) of each device with one usable sample: no interval, so no energy."""
        s = self.state
        return [(s.keys[g][1], s.keys[g][0]) for g in range(len(s.keys)) if s.valid[g] == 1]
