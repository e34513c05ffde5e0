"""`rocm-smi --showpower --csv` output (rocm-smi 3.0.0 of ROCm 6.2/6.3), in a timed loop.

rocm-smi's formatCsv (python_smi_tools/rocm_smi.py) prints a header `device,`
plus the metric names, then `card0,...` per GPU:

    device,Average Graphics Package Power (W)
    card0,237.0
    card1,N/A (Secondary die)

"Current Socket Graphics Package Power (W)" replaces "Average ..." on newer
parts (MI300); where both are columns the current one is read, the average where
it is N/A. `--showenergycounter` adds "Accumulated Energy (uJ)", read as a
counter in J. rocm-smi prints no time and exits after one reading: the log is
a loop that writes a time line before each call (`date +%s.%N`, textlog.py).
The device is the number after "card". An MI250X's secondary GCD shows
"N/A (Secondary die)": counted once, on its primary (packages.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green.traces.formats import textlog
from olmo_green.traces.formats.checking import checked
from olmo_green.traces.formats.common import fail, read_head, sample_frame
from olmo_green.traces.formats.packages import Secondaries

NAME = "rocm-smi"
POWER_COLUMNS = ("Current Socket Graphics Package Power (W)", "Average Graphics Package Power (W)")
ENERGY_COLUMN = "Accumulated Energy (uJ)"
UJ_PER_J = 1e6
NO_TIME = ("rocm-smi writes no time, and no time line precedes this row",
           "log in a loop that writes `date +%s.%N` before each `rocm-smi --showpower --csv`")


def _header(fields: list[str]) -> bool:
    return bool(fields) and fields[0] == "device" and any(p in fields for p in POWER_COLUMNS)


def sniff(head: str) -> bool:
    return any(_header(line.strip().split(",")) for line in head.splitlines()[:50])


class _Parser(textlog.TimeLines):
    def __init__(self, path: Path, options, stats) -> None:
        self.path, self.options, self.stats = path, options, stats
        self.fields: list[str] = []
        super().__init__()

    def __call__(self, line: str, rows: textlog.Rows) -> None:
        text = line.strip()
        if not text:
            return
        fields = text.split(",")  # rocm-smi strips commas from values, quotes nothing
        if _header(fields):
            self.fields = fields
            self.header_seen()
            return
        if not text.startswith("card"):
            time_s = textlog.parse_time(text, self.options.tz)
            if time_s is not None:
                self.time_line(time_s)
            elif not text.startswith(("name", "system", '"')):
                self.stats.drop("unrecognised line")
            return
        self._row(fields, rows)

    def _row(self, fields: list[str], rows: textlog.Rows) -> None:
        self.stats.rows_read += 1
        if self.time_s is None:
            raise fail(self.path, None, *NO_TIME)
        if not self.fields or len(fields) != len(self.fields):
            self.stats.drop("malformed row (wrong number of fields)")
            return
        value = dict(zip(self.fields, fields, strict=True))
        power, na = np.nan, True
        for column in POWER_COLUMNS:
            if column in value and np.isnan(power):
                power, na = textlog.number(value[column])
        energy, _ = textlog.number(value.get(ENERGY_COLUMN, "N/A"))
        if np.isnan(power) and not na:
            self.stats.drop("unreadable power")
            return
        rows.add(self.time_s, fields[0].removeprefix("card"), power, energy / UJ_PER_J, na)


def read_batches(path: Path, options, stats, node: str) -> Iterator[pd.DataFrame]:
    if not sniff(read_head(path)):
        raise fail(path, None, "no rocm-smi header (device, ... Graphics Package Power (W)) "
                   "in the first lines",
                   "log `rocm-smi --showpower --csv` with a `date +%s.%N` line before each call")
    parser, secondaries = _Parser(path, options, stats), Secondaries(stats)
    frames = (_samples(f, stats, node, secondaries)
              for f in textlog.batches(path, stats, options.batch_rows, parser))
    return checked(path, frames, stats, options.batch_rows)


def _samples(rows: pd.DataFrame, stats, node: str, secondaries: Secondaries) -> pd.DataFrame:
    rows = secondaries.keep(rows)
    stats.gaps_na += int(rows["power_na"].sum())
    return sample_frame(rows["time_s"], node, rows["device"], rows["power_w"], rows["energy_j"], NAME)
