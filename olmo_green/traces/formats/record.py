"""Our own sample columns (runrecord.SAMPLE_COLUMNS) as a CSV: the `record` format.

Required: `time_s` (UNIX seconds), `device` and one of `power_w` (W) /
`energy_j` (cumulative J); `node`, `domain` and `source` are optional (node
defaults to the file's node name, domain to gpu, source to "record"). Columns
may come in any order; others are ignored. An empty power_w and energy_j on
one row is a gap (stats.gaps_na); an unreadable time or number drops the row
and counts it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green.runrecord import DOMAINS, SAMPLE_COLUMNS
from olmo_green.traces.formats import arrowcsv
from olmo_green.traces.formats.checking import checked
from olmo_green.traces.formats.common import fail, numbers, read_head

NAME = "record"


def sniff(head: str) -> bool:
    names = arrowcsv.header_fields(head)
    return {"time_s", "device"} <= set(names) and bool({"power_w", "energy_j"} & set(names))


def read_batches(path: Path, options, stats, node: str) -> Iterator[pd.DataFrame]:
    names = arrowcsv.header_fields(read_head(path))
    if not sniff(",".join(names)):
        raise fail(path, 1, f"is not a record trace (header {', '.join(names)[:120]})",
                   "give time_s, device and power_w or energy_j columns, or name the log's --trace-format")
    keep = [c for c in SAMPLE_COLUMNS if c in names]
    frames = (_samples(path, frame, stats, node) for frame in arrowcsv.stream(path, stats, names, keep))
    return checked(path, frames, stats, options.batch_rows)


def _samples(path: Path, text: pd.DataFrame, stats, node: str) -> pd.DataFrame:
    n = len(text)
    time_s, _, bad_time = numbers(text["time_s"])
    power, power_na, bad_power = _optional(text, "power_w")
    energy, energy_na, bad_energy = _optional(text, "energy_j")
    device = text["device"].str.strip()
    frame = pd.DataFrame({
        "time_s": time_s,
        "node": _labels(text, "node", node),
        "device": device.to_numpy(dtype=object),
        "domain": _domains(path, text),
        "power_w": power,
        "energy_j": energy,
        "source": _labels(text, "source", NAME),
    })
    dropped = {"unreadable time": np.isnan(time_s),
               "unreadable number": bad_power | bad_energy,
               "empty device": (device == "").to_numpy(dtype=bool)}
    keep = np.ones(n, dtype=bool)
    for reason, rows in dropped.items():
        stats.drop(reason, int((rows & keep).sum()))
        keep &= ~rows
    stats.gaps_na += int((power_na & energy_na & keep).sum())
    frame = frame[keep].reset_index(drop=True)
    return frame.astype({"node": "string", "device": "string", "domain": "string", "source": "string"})


def _optional(text: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """numbers() of a column the file may lack (then all gaps)."""
    if column in text:
        return numbers(text[column])
    n = len(text)
    return np.full(n, np.nan), np.ones(n, dtype=bool), np.zeros(n, dtype=bool)


def _labels(text: pd.DataFrame, column: str, default: str) -> np.ndarray:
    if column not in text:
        return np.full(len(text), default, dtype=object)
    values = text[column].str.strip()
    return values.where(values != "", default).to_numpy(dtype=object)


def _domains(path: Path, text: pd.DataFrame) -> np.ndarray:
    domains = _labels(text, "domain", "gpu")
    domains = pd.Series(domains).str.lower().to_numpy(dtype=object)
    unknown = sorted(set(domains) - set(DOMAINS))
    if unknown:
        raise fail(path, None, f"unknown domain {unknown[0]!r}", f"use one of {', '.join(DOMAINS)}")
    return domains
