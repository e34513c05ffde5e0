"""Read `sacct --parsable2` output as SLURM writes it: by its header, in any column order.

`sacct --parsable2` (`-P`) prints a header line of field names, then one `|`-separated line per
job and per step, no trailing `|`; `--parsable` (`-p`) adds a trailing `|` (sacct(1)). Field
names are matched case-insensitively (`--format=jobid,consumedenergyraw` prints them as given
in sacct's own spelling). A file saved with `-n`/`--noheader` has no header: it is refused
unless the caller names its columns (`--sacct-columns`).

Energy: `ConsumedEnergyRaw` is joules as an integer. `ConsumedEnergy` is the same figure shown
with a decimal suffix chosen by sacct or by `--units`: SLURM's src/sacct/print.c converts it with
`convert_num_unit2(..., 1000, ...)`, so K, M, G, T, P mean 1e3, 1e6, 1e9, 1e12, 1e15 joules.
An empty field or 0 means nothing was recorded (accounting off, or the job still running).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from olmo_green.errors import InputFileError

ENERGY_COLUMNS = ("consumedenergyraw", "consumedenergy")  # the raw joules preferred: no rounding
NEEDED = ("jobid", "elapsed")
RERUN = "--format=JobID,ConsumedEnergyRaw,Elapsed,NNodes --parsable2"
SUFFIX_J = {"": 1.0, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}


@dataclass(frozen=True)
class SacctRow:
    job_id: str  # JobID as printed: 123, 123_4 (array), 123+0 (het), 123.batch, 123.0 (steps)
    raw_id: str | None  # JobIDRaw where given: an array task's own number
    energy_j: float | None  # None: empty or 0, nothing recorded
    elapsed_s: float | None
    nodes: int | None

    @property
    def is_job(self) -> bool:
        """The allocation's own line (123, 123_4 or 123+0), not one of its steps (123.batch, 123.0)."""
        return "." not in self.job_id


def parse_elapsed_s(text: str) -> float | None:
    """sacct's Elapsed: [D-]HH:MM:SS[.micro] (or MM:SS); None if it is none of these."""
    days, _, clock = text.strip().rpartition("-")
    parts = clock.split(":")
    try:
        numbers = [float(p) for p in parts]
        whole_days = int(days) if days else 0
    except ValueError:
        return None
    if not 2 <= len(numbers) <= 3 or not all(math.isfinite(n) and n >= 0 for n in numbers):
        return None
    seconds = sum(n * 60 ** i for i, n in enumerate(reversed(numbers)))
    return whole_days * 86_400 + seconds


def parse_energy_j(text: str, raw: bool) -> float | None:
    """Joules from ConsumedEnergyRaw (an integer) or ConsumedEnergy (a number and a K/M/G/T/P
    suffix); None for empty or 0; ValueError for anything else."""
    text = text.strip()
    if not text:
        return None
    if raw:
        if not text.isdigit():
            raise ValueError(text)
        joules = float(int(text))
    else:
        suffix = text[-1].upper() if text[-1].isalpha() else ""
        if suffix not in SUFFIX_J:
            raise ValueError(text)
        number = float(text[:-1] if suffix else text)
        if not math.isfinite(number) or number < 0:
            raise ValueError(text)
        joules = number * SUFFIX_J[suffix]
    return joules if joules > 0 else None


def parse_sacct(text: str, columns: Sequence[str] | None = None,
                source: str = "sacct output") -> list[SacctRow]:
    """Rows of `sacct --parsable2` output, read by its header (or by `columns` for a header-less file)."""
    lines = [line.rstrip("\r") for line in text.splitlines() if line.strip()]
    if not lines:
        raise InputFileError(f"{source}: empty; save `sacct -j ID --format=JobID,ConsumedEnergyRaw,Elapsed,"
                             "NNodes --parsable2` output there")
    first = _fields(lines[0])
    if columns:
        names = [c.strip().lower() for c in columns]
        body = lines[1:] if [f.lower() for f in first] == names else lines
    elif "jobid" in (f.lower() for f in first):
        names, body = [f.lower() for f in first], lines[1:]
    else:
        raise InputFileError(f"{source}: no sacct header line (JobID|...): save it without -n/--noheader, "
                             "or name its columns in order with --sacct-columns JobID,ConsumedEnergyRaw,"
                             "Elapsed")
    index = _column_index(names, source)
    return [_row(_fields(line), index, len(names), f"{source} line {n}") for n, line in
            enumerate(body, start=len(lines) - len(body) + 1)]


def _fields(line: str) -> list[str]:
    return [f.strip() for f in line.split("|")]


def _column_index(names: list[str], source: str) -> dict[str, int]:
    energy = next((c for c in ENERGY_COLUMNS if c in names), None)
    if energy is None:
        raise InputFileError(f"{source}: no energy column (ConsumedEnergyRaw or ConsumedEnergy) among "
                             f"{', '.join(names)}; rerun sacct with {RERUN}")
    missing = [c for c in NEEDED if c not in names]
    if missing:
        raise InputFileError(f"{source}: no {' or '.join(missing)} column among {', '.join(names)}; "
                             f"rerun sacct with {RERUN}")
    index = {c: names.index(c) for c in (*NEEDED, "nnodes", "jobidraw") if c in names}
    index["energy"] = names.index(energy)
    index["raw"] = int(energy == "consumedenergyraw")
    return index


def _row(fields: list[str], index: dict[str, int], width: int, where: str) -> SacctRow:
    if len(fields) == width + 1 and not fields[-1]:
        fields = fields[:-1]  # --parsable (not --parsable2) ends each line with a `|`
    if len(fields) != width:
        raise InputFileError(f"{where}: {len(fields)} fields where the header names {width}; "
                             "is a `|` inside a field (a job name)? leave such fields out of --format")
    energy_text = fields[index["energy"]]
    try:
        energy_j = parse_energy_j(energy_text, raw=bool(index["raw"]))
    except ValueError:
        raise InputFileError(f"{where}: energy {energy_text!r} is not a sacct energy (joules, or a number "
                             "with K/M/G/T/P)") from None
    nodes = fields[index["nnodes"]] if "nnodes" in index else ""
    raw_id = fields[index["jobidraw"]] if "jobidraw" in index else None
    return SacctRow(job_id=fields[index["jobid"]], raw_id=raw_id,
                    energy_j=energy_j, elapsed_s=parse_elapsed_s(fields[index["elapsed"]]),
                    nodes=int(nodes) if nodes.isdigit() else None)
