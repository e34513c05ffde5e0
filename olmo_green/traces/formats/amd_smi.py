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

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green.traces.formats import csvblocks
from olmo_green.traces.formats.checking import checked
from olmo_green.traces.formats.common import fail, numbers, read_head, sample_frame
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


def read_batches(path: Path, options, stats, node: str) -> Iterator[pd.DataFrame]:
    if not sniff(read_head(path)):
        raise fail(path, None, "no amd-smi header (gpu and socket_power columns) in the first lines",
                   "log with `amd-smi metric --power --energy --csv --watch 1`")
    blocks = csvblocks.Blocks(path, options, stats, _header, chatter=("'CTRL'",))
    secondaries = Secondaries(stats)
    frames = (_samples(path, text, stats, node, secondaries) for text in blocks.frames())
    return checked(path, frames, stats, options.batch_rows)


def _samples(path: Path, text: pd.DataFrame, stats, node: str, secondaries: Secondaries) -> pd.DataFrame:
    time_s = csvblocks.times(text)
    if "timestamp" in text and np.isnan(time_s).any():
        stamp, _, _ = numbers(text["timestamp"])
        if np.isnan(time_s).all():
            stats.note("times from amd-smi's `timestamp` column: whole seconds")
        time_s = np.where(np.isnan(time_s), stamp, time_s)
    if np.isnan(time_s).any():
        raise fail(path, int(csvblocks.lines(text)[np.isnan(time_s)][0]), *NO_TIME)
    power_column = next(p for p in POWER_COLUMNS if p in text)
    power, na, bad = numbers(text[power_column], unit="W")
    energy = np.full(len(text), np.nan)
    if ENERGY_COLUMN in text:
        energy = numbers(text[ENERGY_COLUMN], unit="J")[0]
    stats.drop("unreadable power", int(bad.sum()))
    rows = pd.DataFrame({"time_s": time_s, "device": text["gpu"].str.strip(), "power_w": power,
                         "energy_j": energy, "power_na": na,
                         "line": csvblocks.lines(text)})[~bad].reset_index(drop=True)
    rows = secondaries.keep(rows)
    stats.gaps_na += int(rows["power_na"].sum())
    return sample_frame(rows["time_s"], node, rows["device"], rows["power_w"], rows["energy_j"],
                        NAME).assign(line=rows["line"].to_numpy())
