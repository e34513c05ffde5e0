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

from olmo_green.traces.formats import csvblocks
from olmo_green.traces.formats.checking import checked
from olmo_green.traces.formats.common import fail, numbers, read_head, sample_frame
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


def read_batches(path: Path, options, stats, node: str) -> Iterator[pd.DataFrame]:
    if not sniff(read_head(path)):
        raise fail(path, None, "no rocm-smi header (device, ... Graphics Package Power (W)) "
                   "in the first lines", "log `rocm-smi --showpower --csv` with a `date +%s.%N` line "
                   "before each call")
    blocks = csvblocks.Blocks(path, options, stats, _header)
    secondaries = Secondaries(stats)
    frames = (_samples(path, text, stats, node, secondaries) for text in blocks.frames())
    return checked(path, frames, stats, options.batch_rows)


def _samples(path: Path, text: pd.DataFrame, stats, node: str, secondaries: Secondaries) -> pd.DataFrame:
    time_s = csvblocks.times(text)
    if np.isnan(time_s).any():
        raise fail(path, int(csvblocks.lines(text)[np.isnan(time_s)][0]), *NO_TIME)
    n = len(text)
    power, na, bad = np.full(n, np.nan), np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    for column in (c for c in POWER_COLUMNS if c in text):  # the current socket power first
        value, value_na, value_bad = numbers(text[column])
        take = np.isnan(power) & ~value_na
        power, na, bad = np.where(take, value, power), na & value_na, np.where(take, value_bad, bad)
    energy = np.full(n, np.nan)
    if ENERGY_COLUMN in text:
        energy = numbers(text[ENERGY_COLUMN])[0] / UJ_PER_J
    stats.drop("unreadable power", int(bad.sum()))
    device = text["device"].str.strip().str.removeprefix("card")
    rows = pd.DataFrame({"time_s": time_s, "device": device, "power_w": power, "energy_j": energy,
                         "power_na": na,
                         "line": csvblocks.lines(text)})[~bad].reset_index(drop=True)
    rows = secondaries.keep(rows)
    stats.gaps_na += int(rows["power_na"].sum())
    return sample_frame(rows["time_s"], node, rows["device"], rows["power_w"], rows["energy_j"],
                        NAME).assign(line=rows["line"].to_numpy())
