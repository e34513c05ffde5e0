"""The checks every format's samples pass, batch by batch, with a few numbers kept per device.

- Times are plausible UNIX seconds (checks.implausible_times), else refused.
- Power in mW or kW by mistake is refused, naming the likely unit: above
  checks.ABSURD_POWER_W no accelerator draws (mW read as W), and a batch whose
  highest reading is positive but under MIN_ACCELERATOR_W (1 W:
  a powered GPU idles at tens of W) is kW read as W. Negative power or energy is refused.
- A device's time going back is refused (a log concatenated out of order, or a
  clock set back): integrating it would count a stretch twice. A jump forward of
  more than JUMP_S is a gap: counted in stats.time_jumps and noted; the consumer
  must not integrate across it (it does not across any gap longer than a few periods).
- An energy counter rising faster than checks.ABSURD_POWER_W is mJ read as J: refused.
  (A counter going down is a reset, left to the consumer, as live counters are.)
- A device whose samples stop well before the log ends is noted at the end.
- One time with two different values for a device is refused. A device with a
  single row in the file has its line kept (stats.single_sample_lines) for the
  consumer's refusal: no energy can be integrated from one sample.

Every reader gives each row its file line (a `line` column, or a row ordinal
that `locate` turns into one: formats/lines.py), so refusals name `FILE:LINE`;
the column is taken off before the batch is yielded. Without it (samples
already in memory) they name the data row.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green import checks
from olmo_green.traces.formats.common import fail, split_rows
from olmo_green.traces.formats.lines import Locate, RowLines
from olmo_green.units import S_PER_HOUR

JUMP_S = S_PER_HOUR  # "timestamps that jump by hours": a node down, a log resumed the next day
MIN_ACCELERATOR_W = 1.0  # no powered accelerator reads less at its highest (a GPU idles at tens of W)
STOPPED_S = 60.0  # a device silent this long before the log's end has disappeared


class DeviceClock:
    """Last time per device across batches: order, jumps, and who stopped early."""

    def __init__(self, path: Path, stats) -> None:
        self.path, self.stats = path, stats
        self.last_s: dict[str, float] = {}
        self.last_energy: dict[str, tuple[float, float]] = {}  # device -> (time_s, energy_j)
        self.last_values: dict[str, tuple[float, float]] = {}  # device -> (power_w, energy_j) at last_s
        self.first_at: dict[str, tuple[int, int | None]] = {}  # device -> (rows, where its first row is)
        self.locate: Locate | None = None  # turns a stored `where` into a file line (lines.RowLines)

    def check(self, frame: pd.DataFrame, first_row: int, lines: RowLines | None = None) -> None:
        if frame.empty:
            return
        devices = frame["device"].to_numpy(dtype=object)
        time_s = frame["time_s"].to_numpy(dtype=np.float64)
        codes, names = pd.factorize(devices)
        order = np.argsort(codes, kind="stable")  # file order kept within a device
        c, t = codes[order], time_s[order]
        prev = np.array([self.last_s.get(name, np.nan) for name in names])[c]
        start = np.r_[True, c[1:] != c[:-1]]
        before = np.where(start, prev, np.r_[np.nan, t[:-1]])
        with np.errstate(invalid="ignore"):
            step = t - before
        back = np.flatnonzero(step < 0)
        if len(back):
            i = int(order[back[0]])
            line, at = _where(first_row, lines, i)
            raise fail(self.path, line, f"{at}time goes back {-step[back[0]]:.3g} s for device {devices[i]}",
                       "sort the log by time (or split it where the clock was reset)")
        self._count(order, c, names, start, first_row, lines)
        self._check_repeats(frame, order, c, names, start, step, first_row, lines)
        jumps = step[step > JUMP_S]
        if len(jumps):
            self.stats.time_jumps += len(jumps)
            self.stats.longest_jump_s = max(self.stats.longest_jump_s, float(jumps.max()))
        ends = np.r_[c[1:] != c[:-1], True]
        for code, last in zip(c[ends], t[ends], strict=True):
            self.last_s[names[code]] = float(last)
        self._check_counter(frame, first_row, lines)

    def _count(self, order, c, names, start, first_row: int, lines: RowLines | None) -> None:
        """Rows per device, and where each device's first row is (for the single-sample refusal).
        `c` is the codes sorted stably, so each device's first sorted row is its first in the file."""
        heads = np.flatnonzero(start)
        counts = np.diff(np.r_[heads, len(c)])
        firsts = order[heads]
        for k, name in enumerate(names[c[heads]]):
            rows, where = self.first_at.get(name, (0, None))
            if where is None:
                # unresolved: resolving may read the file again, so only for a single-sample device
                where = lines.raw(firsts[k]) if lines is not None else -(first_row + int(firsts[k]) + 1)
            self.first_at[name] = (rows + int(counts[k]), where)

    def _check_repeats(self, frame, order, c, names, start, step, first_row, lines) -> None:
        """One time, two values for a device: which one is the reading cannot be told, so refused."""
        values = np.c_[frame["power_w"].to_numpy(dtype=np.float64),
                       frame["energy_j"].to_numpy(dtype=np.float64)]
        ends = np.r_[c[1:] != c[:-1], True]
        zero = np.flatnonzero(step == 0)  # rare: only these rows are compared, so a batch costs little
        if len(zero):
            last = np.array([self.last_values.get(name, (np.nan, np.nan)) for name in names]).reshape(-1, 2)
            v = values[order[zero]]
            prev = np.where(start[zero][:, None], last[c[zero]], values[order[np.maximum(zero - 1, 0)]])
            # only two readings can clash: a gap beside a reading (or power beside a counter) is no clash
            differs = (np.isfinite(v) & np.isfinite(prev) & (v != prev)).any(axis=1)
            clash = zero[differs]
            if len(clash):
                i = int(order[clash[0]])
                line, at = _where(first_row, lines, i)
                raise fail(self.path, line, f"{at}time_s {float(frame['time_s'].iloc[i])!r} repeats for "
                           f"device {names[c[clash[0]]]} with another value",
                           "keep one row per device and time")
        for code, value in zip(c[ends], values[order[ends]], strict=True):
            self.last_values[names[code]] = (float(value[0]), float(value[1]))

    def _check_counter(self, frame: pd.DataFrame, first_row: int, lines: RowLines | None = None) -> None:
        """A counter rising faster than any accelerator draws is mJ (or uJ) read as J."""
        energy = frame["energy_j"].to_numpy(dtype=np.float64)
        rows = np.flatnonzero(np.isfinite(energy))
        if not len(rows):
            return
        codes, names = pd.factorize(frame["device"].to_numpy(dtype=object)[rows])
        order = np.argsort(codes, kind="stable")
        c, t, e = codes[order], frame["time_s"].to_numpy(dtype=np.float64)[rows][order], energy[rows][order]
        start = np.r_[True, c[1:] != c[:-1]]
        prev = [self.last_energy.get(name, (np.nan, np.nan)) for name in names]
        prev_t = np.where(start, np.array([p[0] for p in prev])[c], np.r_[np.nan, t[:-1]])
        prev_e = np.where(start, np.array([p[1] for p in prev])[c], np.r_[np.nan, e[:-1]])
        with np.errstate(invalid="ignore", divide="ignore"):
            rate_w = (e - prev_e) / (t - prev_t)
        fast = np.flatnonzero((t > prev_t) & (rate_w > checks.ABSURD_POWER_W))
        if len(fast):
            i = fast[0]
            line, at = _where(first_row, lines, int(rows[order[i]]))
            raise fail(self.path, line, f"{at}the energy counter of device "
                       f"{names[c[i]]} rises at {rate_w[i]:,.0f} W, above any accelerator's "
                       f"({checks.ABSURD_POWER_W:g} W): a jump, or mJ read as J (counters are J, not mJ)",
                       "give the counter in J")
        ends = np.r_[c[1:] != c[:-1], True]
        for code, last_t, last_e in zip(c[ends], t[ends], e[ends], strict=True):
            self.last_energy[names[code]] = (float(last_t), float(last_e))

    def finish(self) -> None:
        # the consumer refuses a device with a single sample (read.py); here only where its row is
        single = {name: where for name, (rows, where) in self.first_at.items()
                  if rows == 1 and where is not None and where >= 0}
        if self.locate is not None and single:  # one more pass over the file for all of them
            many = getattr(self.locate, "many", lambda raws: [self.locate(r) for r in raws])
            single = dict(zip(single, many(list(single.values())), strict=True))
        self.stats.single_sample_lines.update({name: line for name, line in single.items() if line > 0})
        if self.stats.time_jumps:
            self.stats.note(f"{self.stats.time_jumps} time jump(s) over {JUMP_S / 3600:g} h (longest "
                            f"{self.stats.longest_jump_s / 3600:.2f} h): gaps, not integrated across")
        if not self.last_s:
            return
        end_s = max(self.last_s.values())
        for device, last in self.last_s.items():
            if end_s - last > STOPPED_S:
                self.stats.note(f"device {device} stops {end_s - last:,.0f} s before the log ends")


def _where(first_row: int, lines: RowLines | None, i: int) -> tuple[int | None, str]:
    """(file line, "") of the batch's row i where the reader knows lines, else (None, "data row N: ")."""
    if lines is not None:
        return lines.line(i) or None, ""
    return None, f"data row {first_row + i + 1}: "


def check_values(path: Path, frame: pd.DataFrame, first_row: int, lines: RowLines | None = None) -> None:
    """Times in UNIX seconds; power and counters in W and J, not mW or kW."""
    time_s = frame["time_s"].to_numpy(dtype=np.float64)
    bad = np.flatnonzero(checks.implausible_times(time_s))
    if len(bad):
        problem = checks.time_problem(float(time_s[bad[0]]))
        line, at = _where(first_row, lines, int(bad[0]))
        raise fail(path, line, f"{at}{problem}", "check the time column")
    power = frame["power_w"].to_numpy(dtype=np.float64)
    energy = frame["energy_j"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        for values, name in ((power, "power"), (energy, "energy")):
            bad = np.flatnonzero(values < 0)
            if len(bad):
                line, at = _where(first_row, lines, int(bad[0]))
                raise fail(path, line, f"{at}negative {name} {values[bad[0]]:g}", "a reading is 0 or more")
        bad = np.flatnonzero(power > checks.ABSURD_POWER_W)
    if len(bad):
        line, at = _where(first_row, lines, int(bad[0]))
        raise fail(path, line, f"{at}power {power[bad[0]]:g} W is above any "
                   f"accelerator's ({checks.ABSURD_POWER_W:g} W); it looks like mW", "log power in W")
    if np.isfinite(power).any() and 0 < np.nanmax(power) < MIN_ACCELERATOR_W:
        span = (f"lines {lines.line(0)}..{lines.line(len(lines) - 1)}" if lines is not None
                else f"rows {first_row + 1}..{first_row + len(power)}")
        raise fail(path, None, f"the highest power in {span} is "
                   f"{np.nanmax(power):g} W, under any powered accelerator's ({MIN_ACCELERATOR_W:g} W); "
                   "it looks like kW", "log power in W, not kW")


def checked(path: Path, frames: Iterator[pd.DataFrame], stats, batch_rows: int,
            locate: Locate | None = None) -> Iterator[pd.DataFrame]:
    """`frames` checked and cut to at most batch_rows rows; the end-of-log notes when exhausted.
    `locate`: where the frames' `line` column holds row ordinals, what turns one into a file line."""
    clock = DeviceClock(path, stats)
    clock.locate = locate
    done = 0
    for frame in frames:
        for batch in split_rows(frame, batch_rows):
            lines = RowLines(batch.pop("line").to_numpy(), locate) if "line" in batch else None
            check_values(path, batch, done, lines)
            clock.check(batch, done, lines)
            done += len(batch)
            yield batch
    clock.finish()
