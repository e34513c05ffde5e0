"""Replays a trace file in the run record's sample columns as a live source.

The trace's own clock is shifted so that its first sample plays when the
source is first read; values are interpolated per device. Readings are tagged
`replay`, which integrate.py reports as `replayed`. After the trace ends the
source returns no readings.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green.errors import InputFileError
from olmo_green.telemetry.sources.base import DeviceInfo, Reading, Source


def load_trace(path: str | Path) -> pd.DataFrame:
    """A trace CSV or Parquet file; InputFileError says what is missing."""
    path = Path(path)
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except (OSError, ValueError) as e:
        raise InputFileError(f"trace {path}: cannot read it ({e})") from e
    missing = {"time_s", "device"} - set(frame.columns)
    if missing or not ({"power_w", "energy_j"} & set(frame.columns)):
        raise InputFileError(
            f"trace {path}: needs time_s, device and power_w or energy_j; missing {sorted(missing)}")
    frame["device"] = frame["device"].astype(str)
    if "domain" not in frame:
        frame["domain"] = "gpu"
    return frame.sort_values("time_s", kind="stable")


class ReplaySource(Source):
    name = "replay"

    def __init__(self, path: str | Path, speed: float = 1.0) -> None:
        super().__init__()
        self.path, self.speed = Path(path), speed
        self._series: list[tuple[str, str, np.ndarray, np.ndarray | None, np.ndarray | None]] = []
        self._offset_s: float | None = None

    def _open(self) -> list[DeviceInfo]:
        frame = load_trace(self.path)
        for (device, domain), group in frame.groupby(["device", "domain"], sort=True):
            columns = [group[c].to_numpy(float) if c in group and group[c].notna().any() else None
                       for c in ("power_w", "energy_j")]
            self._series.append((device, domain, group["time_s"].to_numpy(float), *columns))
        return [DeviceInfo(d, dom, f"trace {self.path.name}", "replayed") for d, dom, *_ in self._series]

    def _read(self, time_s: float) -> list[Reading]:
        start = min(s[2][0] for s in self._series)
        if self._offset_s is None:
            self._offset_s = time_s
        trace_s = start + (time_s - self._offset_s) * self.speed
        return [Reading(time_s, device, domain, _at(trace_s, t, power), _at(trace_s, t, energy), self.name)
                for device, domain, t, power, energy in self._series if t[0] <= trace_s <= t[-1]]


def _at(trace_s: float, time_s: np.ndarray, values: np.ndarray | None) -> float:
    return float(np.interp(trace_s, time_s, values)) if values is not None else math.nan
