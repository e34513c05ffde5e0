"""Our own sample columns (record.SAMPLE_COLUMNS) as a CSV: the `record` format.

Required: `time_s` (UNIX seconds), `device` and one of `power_w` (W) /
`energy_j` (cumulative J); `node`, `domain` and `source` are optional (node
defaults to the file's node name, domain to gpu, source to "record"). Columns
may come in any order; others are ignored. An empty power_w and energy_j on
one row is a gap (stats.gaps_na); an unreadable time or number drops the row
and counts it. An infinite reading ("inf") is refused: a logger wrote an
overflow, and the row's neighbours cannot be trusted to bridge it.

Each row carries its ordinal among the rows Arrow parsed (a `line` column that
checking.checked takes off and resolves, with lines.csv_locator, only when it
refuses), so refusals name FILE:LINE, the header being line 1 and blank or
malformed lines counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green.record import DOMAINS, SAMPLE_COLUMNS
from olmo_green.traces.formats import arrowcsv
from olmo_green.traces.formats.checking import checked
from olmo_green.traces.formats.common import fail, numbers, read_head, sample_frame
from olmo_green.traces.formats.lines import RowLines, csv_locator, ordinals

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
    locate = csv_locator(path, 1, len(names))
    frames = (_samples(path, text, stats, node, RowLines(ordinals(stats, text), locate))
              for text in arrowcsv.stream(path, stats, names, keep))
    return checked(path, frames, stats, options.batch_rows, locate)


def _samples(path: Path, text: pd.DataFrame, stats, node: str, lines: RowLines) -> pd.DataFrame:
    time_s, _, bad_time = numbers(text["time_s"])
    power, power_na, bad_power = _optional(text, "power_w")
    energy, energy_na, bad_energy = _optional(text, "energy_j")
    _refuse_infinite(path, text, lines, bad_power | bad_energy)
    device = text["device"].str.strip()
    dropped = {"unreadable time": np.isnan(time_s),
               "unreadable number": bad_power | bad_energy,
               "empty device": (device == "").to_numpy(dtype=bool)}
    keep = np.ones(len(text), dtype=bool)
    for reason, rows in dropped.items():
        stats.drop(reason, int((rows & keep).sum()))
        keep &= ~rows
    stats.gaps_na += int((power_na & energy_na & keep).sum())
    text = text[keep].reset_index(drop=True)
    domains = _domains(path, text, lines, keep)
    frame = sample_frame(time_s[keep], _labels(text, "node", node), device[keep].reset_index(drop=True),
                         power[keep], energy[keep], _labels(text, "source", NAME), domains)
    frame["line"] = lines.values[keep]
    return frame


def _refuse_infinite(path: Path, text: pd.DataFrame, lines: RowLines, unreadable: np.ndarray) -> None:
    """"inf" is no reading numbers() can drop as garbage: a logger wrote an overflow. In Arrow's
    kernels, as numbers() is, so a million rows cost milliseconds."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = np.flatnonzero(unreadable)  # numbers() finds "inf" unreadable: only those rows are looked at
    for column in ("power_w", "energy_j"):
        if column in text and len(rows):
            hit = pc.match_substring_regex(pa.array(text[column].iloc[rows], type=pa.large_string()),
                                           r"^\s*[+-]?inf(inity)?\s*$", ignore_case=True)
            bad = rows[np.flatnonzero(pc.fill_null(hit, False).to_numpy(zero_copy_only=False))]
            if len(bad):
                value = text[column].iloc[bad[0]].strip()
                raise fail(path, lines.line(int(bad[0])) or None, f"{column} is infinite ({value})",
                           "log finite readings (an overflowing logger), or drop the row")


def _optional(text: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """numbers() of a column the file may lack (then all gaps)."""
    if column in text:
        return numbers(text[column])
    n = len(text)
    return np.full(n, np.nan), np.ones(n, dtype=bool), np.zeros(n, dtype=bool)


def _labels(text: pd.DataFrame, column: str, default: str) -> pd.Series | str:
    """The column's labels, `default` where empty; just `default` where the file has no such column."""
    if column not in text:
        return default
    values = text[column].str.strip()
    return values.where(values != "", default)


def _domains(path: Path, text: pd.DataFrame, lines: RowLines, keep: np.ndarray) -> pd.Series | str:
    """The kept rows' domains (`text` is already cut to them: `keep` maps back to `lines`)."""
    domains = _labels(text, "domain", "gpu")
    if isinstance(domains, str):
        return domains
    domains = domains.str.lower()
    known = domains.isin(DOMAINS).to_numpy(dtype=bool)
    if not known.all():
        first = int(np.flatnonzero(~known)[0])
        line = lines.line(int(np.flatnonzero(keep)[first])) or None
        raise fail(path, line, f"unknown domain {domains.iloc[first]!r}", f"use one of {', '.join(DOMAINS)}")
    return domains
