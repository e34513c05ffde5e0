"""DCGM-exporter metrics as a Prometheus range-query answer (JSON), read as written.

`curl 'http://PROM:9090/api/v1/query_range?query=...&start=...&end=...&step=1s'`
answers `{"status": "success", "data": {"resultType": "matrix", "result": [{"metric":
{"__name__": "DCGM_FI_DEV_POWER_USAGE", "gpu": "0", "UUID": "GPU-...", "Hostname":
"node01", ...}, "values": [[1722038010.5, "65.123"], ...]}, ...]}}` (Prometheus
HTTP API; dcgm-exporter 3.x/4.x labels). Series read:

- DCGM_FI_DEV_POWER_USAGE (gauge, W) and DCGM_FI_DEV_POWER_USAGE_INSTANT;
- DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION (counter, mJ since boot; read as J: the
  counter is used first, power as its cross-check);
- dcgm-exporter 1.x's dcgm_power_usage / dcgm_total_energy_consumption alike.

The device is the `gpu` label (else UUID); the node is `--trace-node`, else the
`Hostname` label, else the file's name. Values "NaN" are gaps.

Memory: the answer is one JSON document, parsed whole. That is bounded by
Prometheus itself (a range query returns at most 11,000 points per series),
so a real answer is megabytes; a file over MAX_BYTES is refused before it
is read. Rows come out device by device, each in time order.

Each sample carries the line of its `[time, "value"]` pair's value (found by a
pattern over the raw text, in file order, and used only where it finds exactly
the answer's pairs), so a refusal names FILE:LINE; an answer saved on one line
(curl's) is all line 1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green.traces.formats.checking import checked
from olmo_green.traces.formats.common import codec_of, fail, read_head, sample_frame

NAME = "prometheus"
MAX_BYTES = 512 << 20
POWER = ("DCGM_FI_DEV_POWER_USAGE_INSTANT", "DCGM_FI_DEV_POWER_USAGE", "dcgm_power_usage")
ENERGY = ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "dcgm_total_energy_consumption")
MJ_PER_J = 1000.0
_PAIR = re.compile(rb'\[\s*[-+0-9.eE]+\s*,\s*"')  # a [time, "value"] pair, up to its value


def sniff(head: str) -> bool:
    text = head.lstrip()
    return text.startswith("{") and '"result' in text and any(f'"{name}"' in text for name in POWER + ENERGY)


def _load(path: Path, stats) -> tuple[list[dict], np.ndarray | None]:
    if path.stat().st_size > MAX_BYTES:
        raise fail(path, None, f"is {path.stat().st_size / 2**20:,.0f} MiB, over the "
                   f"{MAX_BYTES >> 20} MiB read whole",
                   "split the range query into shorter ranges, one file each")
    try:
        raw = _bytes(path)
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as e:
        raise fail(path, None, f"is not whole JSON ({str(e).splitlines()[0]})",
                   "save the full query answer") from e
    data = document.get("data", document) if isinstance(document, dict) else None
    if (not isinstance(data, dict) or data.get("resultType") != "matrix"
            or not isinstance(data.get("result"), list)):
        kind = data.get("resultType") if isinstance(data, dict) else type(document).__name__
        raise fail(path, None, f"is not a range-query answer (resultType {kind!r}, not 'matrix')",
                   "save the answer of /api/v1/query_range")
    return data["result"], _pair_lines(raw, data["result"])


def _pair_lines(raw: bytes, result: list) -> np.ndarray | None:
    """The file line of every [time, "value"] pair's value in file order; None where the pattern does not
    find exactly the answer's pairs (a label holding such text), then refusals name the file only."""
    starts = np.fromiter((m.end() for m in _PAIR.finditer(raw)), dtype=np.int64)  # the value's line
    pairs = sum(len(s["values"]) for s in result if isinstance(s, dict) and isinstance(s.get("values"), list))
    if len(starts) != pairs:
        return None
    newlines = np.flatnonzero(np.frombuffer(raw, dtype=np.uint8) == ord("\n"))
    return np.searchsorted(newlines, starts) + 1


def _bytes(path: Path) -> bytes:
    """The whole file (decompressed): JSON answers often end without a newline, so no line trimming."""
    codec = codec_of(path)
    if codec is None:
        return path.read_bytes()
    import pyarrow as pa

    with pa.input_stream(str(path), compression=codec) as f:
        return f.read()


def _series(path: Path, loaded: tuple[list[dict], np.ndarray | None], options, stats,
            node: str) -> dict[tuple[str, str], dict]:
    """(node, device) -> {"power": (times, values, lines), "energy": ...}, power preferring the
    instant series."""
    result, pair_lines = loaded
    found: dict[tuple[str, str], dict] = {}
    at = 0  # the first pair of this series among all the answer's pairs
    for series in result:
        labels = series.get("metric") or {}
        name = labels.get("__name__")
        kind = "energy" if name in ENERGY else "power" if name in POWER else None
        values = series.get("values")
        lines = np.zeros(len(values) if isinstance(values, list) else 0, dtype=np.int64)
        if pair_lines is not None and isinstance(values, list):
            lines, at = pair_lines[at:at + len(values)], at + len(values)
        if kind is None or not isinstance(values, list):
            stats.drop("series of another metric", len(values) if isinstance(values, list) else 1)
            continue
        device = str(labels.get("gpu", labels.get("UUID", "")))
        where = (options.node or labels.get("Hostname") or node, device)
        slot = found.setdefault(where, {})
        rank = POWER.index(name) if kind == "power" else 0
        if kind in slot and slot[kind][0] <= rank:
            continue  # a less direct power series of the same device
        slot[kind] = (rank, _values(path, values, lines))
        stats.rows_read += len(values)
    return found


def _values(path: Path, values: list, lines: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pairs = np.full((len(values), 2), np.nan)
    for k, pair in enumerate(values):
        try:
            pairs[k] = [float(x) for x in pair]
        except (TypeError, ValueError) as e:
            line = int(lines[k]) if k < len(lines) and lines[k] else None
            raise fail(path, line, f"a sample is not [time, \"value\"] ({e}): {json.dumps(pair)[:60]}",
                       "save the query answer as given") from e
    return pairs[:, 0], pairs[:, 1], lines


def read_batches(path: Path, options, stats, node: str) -> Iterator[pd.DataFrame]:
    if not sniff(read_head(path)):
        raise fail(path, None, "is no Prometheus answer with DCGM power or energy series",
                   "query DCGM_FI_DEV_POWER_USAGE or DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION over a range")
    found = _series(path, _load(path, stats), options, stats, node)
    if any("energy" in slot for slot in found.values()):
        stats.note("energy from DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION (mJ, read as J); power as a cross-check")
    stats.bytes_done = stats.bytes_total
    frames = (_frame(where, slot, stats) for where, slot in sorted(found.items()))
    return checked(path, frames, stats, options.batch_rows)


def _frame(where: tuple[str, str], slot: dict, stats) -> pd.DataFrame:
    """One device's samples in time order; power and energy joined on their timestamps."""
    parts = []
    for kind, column, scale in (("power", "power_w", 1.0), ("energy", "energy_j", 1 / MJ_PER_J)):
        if kind in slot:
            time_s, value, lines = slot[kind][1]
            part = pd.DataFrame({column: value * scale, f"{kind}_line": lines}, index=time_s)
            parts.append(part.groupby(level=0).last())
    joined = pd.concat(parts, axis=1).sort_index()
    nothing = pd.Series(np.nan, index=joined.index)
    power, energy = joined.get("power_w", nothing), joined.get("energy_j", nothing)
    # the power pair's line where the time has one, else the counter's
    line = joined.get("power_line", nothing).fillna(joined.get("energy_line", nothing)).fillna(0)
    stats.gaps_na += int(power.isna().sum())
    node, device = where
    return sample_frame(joined.index.to_numpy(), node, np.full(len(joined), device, dtype=object),
                        power.to_numpy(), energy.to_numpy(), NAME).assign(line=line.to_numpy(np.int64))
