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
"""

from __future__ import annotations

import json
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


def sniff(head: str) -> bool:
    text = head.lstrip()
    return text.startswith("{") and '"result' in text and any(f'"{name}"' in text for name in POWER + ENERGY)


def _load(path: Path, stats) -> list[dict]:
    if path.stat().st_size > MAX_BYTES:
        raise fail(path, None, f"is {path.stat().st_size / 2**20:,.0f} MiB, over the "
                   f"{MAX_BYTES >> 20} MiB read whole",
                   "split the range query into shorter ranges, one file each")
    try:
        document = json.loads(_bytes(path))
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as e:
        raise fail(path, None, f"is not whole JSON ({str(e).splitlines()[0]})",
                   "save the full query answer") from e
    data = document.get("data", document) if isinstance(document, dict) else None
    if (not isinstance(data, dict) or data.get("resultType") != "matrix"
            or not isinstance(data.get("result"), list)):
        kind = data.get("resultType") if isinstance(data, dict) else type(document).__name__
        raise fail(path, None, f"is not a range-query answer (resultType {kind!r}, not 'matrix')",
                   "save the answer of /api/v1/query_range")
    return data["result"]


def _bytes(path: Path) -> bytes:
    """The whole file (decompressed): JSON answers often end without a newline, so no line trimming."""
    codec = codec_of(path)
    if codec is None:
        return path.read_bytes()
    import pyarrow as pa

    with pa.input_stream(str(path), compression=codec) as f:
        return f.read()


def _series(path: Path, result: list[dict], options, stats, node: str) -> dict[tuple[str, str], dict]:
    """(node, device) -> {"power": (times, values), "energy": ...}, power preferring the instant series."""
    found: dict[tuple[str, str], dict] = {}
    for series in result:
        labels = series.get("metric") or {}
        name = labels.get("__name__")
        kind = "energy" if name in ENERGY else "power" if name in POWER else None
        values = series.get("values")
        if kind is None or not isinstance(values, list):
            stats.drop("series of another metric", len(values) if isinstance(values, list) else 1)
            continue
        device = str(labels.get("gpu", labels.get("UUID", "")))
        where = (options.node or labels.get("Hostname") or node, device)
        slot = found.setdefault(where, {})
        rank = POWER.index(name) if kind == "power" else 0
        if kind in slot and slot[kind][0] <= rank:
            continue  # a less direct power series of the same device
        slot[kind] = (rank, _values(path, values))
        stats.rows_read += len(values)
    return found


def _values(path: Path, values: list) -> tuple[np.ndarray, np.ndarray]:
    try:
        pairs = np.array([(float(t), float(v)) for t, v in values], dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError) as e:
        raise fail(path, None, f"a sample is not [time, \"value\"] ({e})",
                   "save the query answer as given") from e
    return pairs[:, 0], pairs[:, 1]


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
            time_s, value = slot[kind][1]
            parts.append(pd.Series(value * scale, index=time_s, name=column).groupby(level=0).last())
    joined = pd.concat(parts, axis=1).sort_index()
    power = joined["power_w"] if "power_w" in joined else pd.Series(np.nan, index=joined.index)
    energy = joined["energy_j"] if "energy_j" in joined else pd.Series(np.nan, index=joined.index)
    stats.gaps_na += int(power.isna().sum())
    node, device = where
    return sample_frame(joined.index.to_numpy(), node, np.full(len(joined), device, dtype=object),
                        power.to_numpy(), energy.to_numpy(), NAME)
