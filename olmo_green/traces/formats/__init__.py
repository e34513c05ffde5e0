"""Power logs as clusters write them: one reader per format, one interface.

`open_trace(path, fmt)` returns an `OpenedTrace` whose `batches` yield the run
record's sample columns (record.SAMPLE_COLUMNS, with SAMPLE_DTYPES): `time_s`
UNIX seconds UTC, `node`, `device`, `domain` ("gpu"), `power_w` in W, `energy_j`
a cumulative counter in J (NaN where the format has none) and `source`, the
format's name. Batches hold at most `options.batch_rows` rows, in file order;
a reader holds one batch (and a few KB of state per device) at a time, never
the whole file. `stats` fills while the batches are consumed: read it after
the last one (notes on devices that stop early are added at the end).

Each format is one module with `sniff(head: str) -> bool`, given the first
SNIFF_BYTES of the file as text, and `read_batches(path, options, stats)`.
`fmt="auto"` sniffs: exactly one format must claim the file, else a GreenError
says which matched (none, or two) and names `--trace-format`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from olmo_green.errors import InputFileError

FORMAT_NAMES = ("record", "nvidia-smi", "dcgm", "prometheus", "amd-smi", "rocm-smi")
_MODULES = {"record": "record", "nvidia-smi": "nvidia_smi", "dcgm": "dcgm", "prometheus": "prometheus",
            "amd-smi": "amd_smi", "rocm-smi": "rocm_smi"}


@dataclass
class TraceOptions:
    tz: str = "UTC"  # IANA name or offset like +02:00, for naive local timestamps
    devices: int | None = None  # --trace-devices: GPUs per round when there is no index column
    node: str | None = None  # --trace-node; default: from the file name (stem)
    batch_rows: int = 1_000_000


@dataclass
class TraceStats:
    """Filled while batches are consumed; complete once the iterator is exhausted."""

    rows_read: int = 0  # data rows seen in the file (kept or dropped)
    rows_dropped: dict[str, int] = field(default_factory=dict)  # reason -> count
    gaps_na: int = 0  # readings written as [N/A] / [Not Supported] / N/A: gaps, not zero
    bytes_total: int = 0
    bytes_done: int = 0
    notes: list[str] = field(default_factory=list)  # what the reader assumed or found, for the report
    time_jumps: int = 0  # a device's consecutive samples more than JUMP_S apart: gaps, never integrated
    longest_jump_s: float = 0.0
    single_sample_lines: dict[str, int] = field(default_factory=dict)  # device -> its one row's line

    def drop(self, reason: str, rows: int = 1) -> None:
        if rows:
            self.rows_dropped[reason] = self.rows_dropped.get(reason, 0) + int(rows)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


@dataclass
class OpenedTrace:
    path: Path
    format: str
    auto: bool  # the format was sniffed, not named
    node: str
    stats: TraceStats
    batches: Iterator[pd.DataFrame]


def _module(fmt: str):
    return importlib.import_module(f"olmo_green.traces.formats.{_MODULES[fmt]}")


def sniff_format(path: Path) -> str:
    """The one format whose sniffer claims the file's first bytes; a GreenError otherwise."""
    from olmo_green.traces.formats.common import fail, read_head

    head = read_head(Path(path))
    matched = [name for name in FORMAT_NAMES if _module(name).sniff(head)]
    if len(matched) == 1:
        return matched[0]
    names = "|".join(FORMAT_NAMES)
    if not matched:
        raise fail(path, 1, "is in no known trace format (its first lines match none of "
                   f"{', '.join(FORMAT_NAMES)}; a record trace's header names time_s, device and "
                   "power_w or energy_j)", f"check the file, or name it with --trace-format {names}")
    raise fail(path, None, f"matches several trace formats ({', '.join(matched)})",
               f"name one with --trace-format {'|'.join(matched)}")


def open_trace(path: Path, fmt: str = "auto", options: TraceOptions | None = None) -> OpenedTrace:
    """The file's samples as batches; the header is checked now, the rows as they are read."""
    from olmo_green.traces.formats.common import check_options, node_name, require_file

    path = Path(path)
    options = options or TraceOptions()
    require_file(path)
    check_options(options)
    if fmt != "auto" and fmt not in FORMAT_NAMES:
        raise InputFileError(f"unknown trace format {fmt!r}; use auto or one of {', '.join(FORMAT_NAMES)}")
    auto = fmt == "auto"
    fmt = sniff_format(path) if auto else fmt
    stats = TraceStats(bytes_total=path.stat().st_size)
    node = options.node or node_name(path)
    batches = _module(fmt).read_batches(path, options, stats, node)
    return OpenedTrace(path, fmt, auto, node, stats, batches)
