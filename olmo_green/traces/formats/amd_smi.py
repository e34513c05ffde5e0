"""`amd-smi metric --power --energy --csv` output (amd-smi of ROCm 6.1 to 6.3), read as written.

amd-smi writes its CSV with Python's csv.DictWriter (amdsmi_cli/amdsmi_logger.py):
a header, then one row per GPU; with `--watch N` to stdout the header is
printed again before every round, after a line "'CTRL' + 'C' to stop watching
output:", and rows start with `timestamp` (int(time.time()): whole seconds).
The columns are the flattened metric keys: `gpu`, `socket_power` (W, a bare
number), `gfx_voltage`, ..., `total_energy_consumption` (J, from the energy
accumulator x its resolution). Without --watch there is no timestamp: a time
line before each call's block (`date +%s.%N`, textlog.py) gives it, and is
preferred to the whole-second `timestamp` where both are present.

An MI250X's secondary GCD reports no socket power: counted once (packages.py).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green.traces.formats import textlog
from olmo_green.traces.formats.checking import checked
from olmo_green.traces.formats.common import fail, read_head, sample_frame
from olmo_green.traces.formats.packages import Secondaries

NAME = "amd-smi"
POWER_COLUMNS = ("socket_power", "current_socket_power", "average_socket_power")
ENERGY_COLUMN = "total_energy_consumption"
NO_TIME = ("amd-smi metric without --watch writes no time, and no time line precedes this row",
           "log with `amd-smi metric --power --energy --csv --watch 1`, "
           "or write `date +%s.%N` before each call")


def _header(fields: list[str]) -> bool:
    return "gpu" in fields and any(p in fields for p in POWER_COLUMNS)


def sniff(head: str) -> bool:
    return any(_header([f.strip() for f in line.split(",")]) for line in head.splitlines()[:50])


class _Parser(textlog.TimeLines):
    def __init__(self, path: Path, options, stats) -> None:
        self.path, self.options, self.stats = path, options, stats
        self.fields: list[str] = []
        super().__init__()
        self.noted = False

    def __call__(self, line: str, rows: textlog.Rows) -> None:
        text = line.strip()
        if not text or text.startswith("'CTRL'"):
            return
        fields = next(csv.reader([text]))
        if _header([f.strip() for f in fields]):
            self.fields = [f.strip() for f in fields]
            self.header_seen()
            return
        if len(fields) == 1:
            time_s = textlog.parse_time(text, self.options.tz)
            if time_s is not None:
                self.time_line(time_s)
                return
        self._row(fields, rows)

    def _row(self, fields: list[str], rows: textlog.Rows) -> None:
        self.stats.rows_read += 1
        if not self.fields or len(fields) != len(self.fields):
            self.stats.drop("malformed row (wrong number of fields)")
            return
        value = dict(zip(self.fields, fields, strict=True))
        time_s = self.time_s
        if time_s is None and "timestamp" in value:
            time_s = textlog.parse_time(value["timestamp"], self.options.tz)
            if not self.noted:
                self.stats.note("times from amd-smi's `timestamp` column: whole seconds")
                self.noted = True
        if time_s is None:
            raise fail(self.path, None, *NO_TIME)
        power_column = next(p for p in POWER_COLUMNS if p in value)
        power, na = textlog.number(value[power_column], "W")
        energy, _ = textlog.number(value.get(ENERGY_COLUMN, "N/A"), "J")
        if np.isnan(power) and not na:
            self.stats.drop("unreadable power")
            return
        rows.add(time_s, value["gpu"].strip(), power, energy, na)


def read_batches(path: Path, options, stats, node: str) -> Iterator[pd.DataFrame]:
    if not sniff(read_head(path)):
        raise fail(path, None, "no amd-smi header (gpu and socket_power columns) in the first lines",
                   "log with `amd-smi metric --power --energy --csv --watch 1`")
    parser, secondaries = _Parser(path, options, stats), Secondaries(stats)
    frames = (_samples(f, stats, node, secondaries)
              for f in textlog.batches(path, stats, options.batch_rows, parser))
    return checked(path, frames, stats, options.batch_rows)


def _samples(rows: pd.DataFrame, stats, node: str, secondaries: Secondaries) -> pd.DataFrame:
    rows = secondaries.keep(rows)
    stats.gaps_na += int(rows["power_na"].sum())
    return sample_frame(rows["time_s"], node, rows["device"], rows["power_w"], rows["energy_j"], NAME)
