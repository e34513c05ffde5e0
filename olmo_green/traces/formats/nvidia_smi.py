"""`nvidia-smi --query-gpu=... --format=csv[,nounits] -lms 100` logs, read as written.

Header `timestamp, index, power.draw [W]` (fields joined by ", "; the unit in
brackets stays in the header with `nounits`), rows such as
`2025/07/26 23:53:30.945, 0, 116.51 W` (or `116.51` with `nounits`). Columns
may come in any order and others are ignored. The timestamp is the node's
local time in "YYYY/MM/DD HH:MM:SS.msec" (nvidia-smi --help-query-gpu): read in
`--trace-tz` (UTC unless given, and the notes say so).

The device is the `index` column, else `pci.bus_id`, else `uuid`; with none of
them the rows come in rounds of N GPUs (rounds.py). Power is
`power.draw.instant` where logged (driver 535 and newer: the 1 s average
`power.draw` smooths the swings a 100 ms log exists to show), else `power.draw`,
else `power.draw.average`. `[N/A]`, `[Not Supported]` and the like are gaps,
never 0 W. --query-gpu has no energy counter in the drivers checked (535, 550,
580); a column whose name holds "energy" is read as a counter in the unit its
header names ([mJ] or [J]).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green.traces.formats import arrowcsv
from olmo_green.traces.formats.checking import checked
from olmo_green.traces.formats.common import LocalClock, fail, numbers, read_head, sample_frame
from olmo_green.traces.formats.lines import csv_locator, ordinals
from olmo_green.traces.formats.rounds import RoundCheck, infer

NAME = "nvidia-smi"
TIME_FORMAT = "%Y/%m/%d %H:%M:%S.%f"
POWER_COLUMNS = ("power.draw.instant", "power.draw", "power.draw.average")
DEVICE_COLUMNS = (("index",), ("pci.bus_id", "gpu_bus_id"), ("uuid", "gpu_uuid"))
SAMPLE_ROWS = 2000  # rows of the head the rounds are inferred from


def _base(name: str) -> str:
    """`power.draw [W]` -> `power.draw`."""
    return name.split("[", 1)[0].strip().lower()


def sniff(head: str) -> bool:
    names = [_base(n) for n in arrowcsv.header_fields(head)]
    return "timestamp" in names and any(n in POWER_COLUMNS for n in names)


def _columns(path: Path, names: list[str], stats) -> dict[str, str | None]:
    bases = [_base(n) for n in names]
    if "timestamp" not in bases or not any(p in bases for p in POWER_COLUMNS):
        raise fail(path, 1, "is not an nvidia-smi log with timestamp and power.draw columns",
                   "log with --query-gpu=timestamp,index,power.draw --format=csv")
    power = next(p for p in POWER_COLUMNS if p in bases)
    if sum(p in bases for p in POWER_COLUMNS) > 1:
        stats.note(f"power from {power} (of {', '.join(p for p in POWER_COLUMNS if p in bases)})")
    device = next((n for group in DEVICE_COLUMNS for n in group if n in bases), None)
    energy = next((b for b in bases if "energy" in b), None)
    pick = {"timestamp": "timestamp", "power": power, "device": device, "energy": energy}
    return {key: names[bases.index(base)] if base else None for key, base in pick.items()}


def _energy_scale(path: Path, header: str | None) -> float:
    unit = header.split("[", 1)[1].rstrip("] ").strip() if header and "[" in header else ""
    if unit not in ("mJ", "J"):
        raise fail(path, 1, f"energy column {header!r} names no unit of mJ or J",
                   "drop the column or name its unit, e.g. [mJ]")
    return 1e-3 if unit == "mJ" else 1.0


def read_batches(path: Path, options, stats, node: str) -> Iterator[pd.DataFrame]:
    head = read_head(path)
    names = arrowcsv.header_fields(head)
    cols = _columns(path, names, stats)
    scale = _energy_scale(path, cols["energy"]) if cols["energy"] else 1.0
    stats.note(f"timestamps read as local time in {options.tz} (--trace-tz; UTC unless given)")
    rounds = None
    locate = csv_locator(path, 1, len(names))
    if cols["device"] is None:
        sample = _head_times(head, names, LocalClock(options.tz, path))
        n, mode, threshold = infer(path, sample, options.devices, stats)
        rounds = RoundCheck(path, n, mode, threshold, stats, locate)
    keep = [c for c in (cols["timestamp"], cols["device"], cols["power"], cols["energy"]) if c]
    text = arrowcsv.stream(path, stats, names, keep)
    clock = LocalClock(options.tz, path)
    frames = (_samples(path, frame, cols, scale, clock, stats, node, rounds) for frame in text)
    return checked(path, _finished(frames, rounds), stats, options.batch_rows, locate)


def _finished(frames: Iterator[pd.DataFrame], rounds: RoundCheck | None) -> Iterator[pd.DataFrame]:
    yield from frames
    if rounds is not None:
        rounds.finish()


def _head_times(head: str, names: list[str], clock: LocalClock) -> np.ndarray:
    """Times (UNIX s) of the first data rows, for the rounds; a cut-off last line left out."""
    lines = head.splitlines()[1:SAMPLE_ROWS + 1]
    if not head.endswith("\n") and lines:
        lines = lines[:-1]
    at = [_base(n) for n in names].index("timestamp")
    text = pd.Series([line.split(",")[at] if line.count(",") >= at else "" for line in lines], dtype="string")
    return _times(text, clock, 1)


def _times(text: pd.Series, clock: LocalClock, first_line: int) -> np.ndarray:
    stamps = pd.to_datetime(text.str.strip(), format=TIME_FORMAT, errors="coerce")
    return clock.unix_s(stamps, first_line)


def _samples(path: Path, text: pd.DataFrame, cols, scale: float, clock: LocalClock, stats, node: str,
             rounds: RoundCheck | None) -> pd.DataFrame:
    ordinal = ordinals(stats, text)  # each row's ordinal among Arrow's rows: lines.csv_locator finds its line
    first = stats.rows_read - len(text) + 2  # the batch's first line, were no line skipped
    time_s = _times(text[cols["timestamp"]], clock, first)
    power, power_na, bad_power = numbers(text[cols["power"]], unit="W")
    energy = np.full(len(text), np.nan)
    bad_energy = np.zeros(len(text), dtype=bool)
    if cols["energy"]:
        energy, _, bad_energy = numbers(text[cols["energy"]], unit="mJ" if scale < 1 else "J")
        energy = energy * scale
    if rounds is not None:
        if stats.rows_dropped.get("malformed row (wrong number of fields)"):
            line = rounds.locate.first_skipped() if rounds.locate is not None else 0
            raise fail(path, line or None, "a malformed row breaks the rounds of GPUs of a log without an "
                       "index column", "repair the row, or log an index column")
        device = rounds.devices(len(text))
        rounds.advance(time_s)
    else:
        device = text[cols["device"]].str.strip()
    dropped = {"unreadable timestamp": np.isnan(time_s), "unreadable power": bad_power | bad_energy}
    keep = np.ones(len(text), dtype=bool)
    for reason, rows in dropped.items():
        stats.drop(reason, int((rows & keep).sum()))
        keep &= ~rows
    stats.gaps_na += int((power_na & keep).sum())
    device = device[keep].reset_index(drop=True) if isinstance(device, pd.Series) else device[keep]
    frame = sample_frame(time_s[keep], node, device, power[keep], energy[keep], NAME)
    return frame.assign(line=ordinal[keep])
