"""`dcgmi dmon -e 155,156 -d 100` text output (DCGM 3.x/4.x), read as written.

dcgmi prints a two-line header, repeated every 14 rounds, then one row per
entity, columns padded with spaces (dcgmi/DeviceMonitor.cpp, DCGM 4.6):

    #Entity         POWER             TOTEC
    ID               W                 mJ
    GPU 0           65.123            123456789

Field 155 (DCGM_FI_DEV_POWER_USAGE) is "POWER" in W with three decimals; 156
(DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION) is "TOTEC", a counter in mJ, read as J;
157 (instant power) is "POWINST". Blank values are "N/A": gaps. Rows of other
entities (GPU-I, CPU, links) are skipped and counted.

dcgmi prints no time: the log needs one per line (`| ts %.s`) or a time line
per round (textlog.py); a log without either is refused in one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green.traces.formats import textlog
from olmo_green.traces.formats.checking import checked
from olmo_green.traces.formats.common import fail, read_head, sample_frame

NAME = "dcgm"
POWER_FIELDS = ("POWINST", "POWER")  # instant first, as for nvidia-smi's power.draw.instant
ENERGY_FIELD = "TOTEC"
MJ_PER_J = 1000.0
ENTITIES = ("GPU", "GPU-I", "GPU-CI", "CPU", "SW", "CX")  # the entity types dcgmi prints first
NO_TIME = ("dcgmi dmon writes no time",
           "pipe it through `ts %.s` (moreutils): dcgmi dmon -e 155,156 -d 100 | "
           "ts %.s > $(hostname).dcgm.log")


def sniff(head: str) -> bool:
    return any("#Entity" in line.split() for line in head.splitlines()[:50])


class _Parser(textlog.TimeLines):
    """State across lines: the header's fields, and the last time line."""

    def __init__(self, path: Path, options, stats) -> None:
        self.path, self.options, self.stats = path, options, stats
        self.fields: list[str] = []
        super().__init__()

    def __call__(self, line: str, rows: textlog.Rows) -> None:
        tokens = line.split()
        if not tokens:
            return
        if "#Entity" in tokens:
            self.fields = tokens[tokens.index("#Entity") + 1:]
            self.header_seen()
            return
        at = next((i for i, t in enumerate(tokens[:3]) if t in ENTITIES), None)
        if at is None:
            self._other(tokens)
            return
        if tokens[at] != "GPU" or (at + 1 < len(tokens) and tokens[at + 1] == "LINK"):
            self.stats.drop("not a GPU row")
            return
        self._row(tokens, at, rows)

    def _other(self, tokens: list[str]) -> None:
        time_s = textlog.parse_time(" ".join(tokens), self.options.tz) if len(tokens) <= 2 else None
        if time_s is not None:
            self.time_line(time_s)
        elif tokens[0] != "ID" and (len(tokens) < 2 or tokens[1] != "ID") and "dmon" not in tokens:
            self.stats.drop("unrecognised line")

    def _row(self, tokens: list[str], at: int, rows: textlog.Rows) -> None:
        self.stats.rows_read += 1
        time_s = textlog.parse_time(" ".join(tokens[:at]), self.options.tz) if at else self.time_s
        if time_s is None:
            raise fail(self.path, rows.line, NO_TIME[0] + " and this log has none", NO_TIME[1])
        values = tokens[at + 2:]
        if not self.fields or len(values) != len(self.fields):
            self.stats.drop("malformed row (wrong number of fields)")
            return
        power, na = np.nan, True
        field = next((f for f in POWER_FIELDS if f in self.fields), None)
        if field:
            power, na = textlog.number(values[self.fields.index(field)])
        energy = np.nan
        if ENERGY_FIELD in self.fields:
            energy, _ = textlog.number(values[self.fields.index(ENERGY_FIELD)])
            energy /= MJ_PER_J
        if np.isnan(power) and not na:
            self.stats.drop("unreadable power")
            return
        rows.add(time_s, tokens[at + 1], power, energy, na)


def read_batches(path: Path, options, stats, node: str) -> Iterator[pd.DataFrame]:
    head = read_head(path)
    fields = next((line.split()[line.split().index("#Entity") + 1:] for line in head.splitlines()
                   if "#Entity" in line.split()), [])
    if not any(f in fields for f in POWER_FIELDS + (ENERGY_FIELD,)):
        raise fail(path, None, f"dcgmi dmon log without power or energy fields (has {' '.join(fields)})",
                   "monitor fields 155 (power, W) and 156 (energy, mJ): dcgmi dmon -e 155,156 -d 100")
    if ENERGY_FIELD in fields:
        stats.note("energy from DCGM's TOTEC counter (mJ, read as J); power beside it as a cross-check")
    parser = _Parser(path, options, stats)
    rows = textlog.batches(path, stats, options.batch_rows, parser)
    frames = (_samples(frame, stats, node) for frame in rows)
    return checked(path, frames, stats, options.batch_rows)


def _samples(rows: pd.DataFrame, stats, node: str) -> pd.DataFrame:
    stats.gaps_na += int(rows["power_na"].sum())
    return sample_frame(rows["time_s"], node, rows["device"], rows["power_w"], rows["energy_j"],
                        NAME).assign(line=rows["line"].to_numpy())
