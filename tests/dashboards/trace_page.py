"""Reading a trace dashboard back: the Plotly figures of its page, decoded with json and numpy."""

from __future__ import annotations

import base64
import json
import re

import numpy as np


def _values(value) -> np.ndarray:
    """A Plotly array: a list, or plotly's typed-array encoding {"dtype", "bdata"} (base64)."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"])).astype(float)
    return np.asarray(value, dtype=float)


def figures(page: str) -> dict[str, tuple[list[dict], dict]]:
    """div id -> (its traces, each with x and y decoded to float arrays; its layout)."""
    decoder = json.JSONDecoder()
    found = {}
    for match in re.finditer(r'Plotly\.newPlot\(\s*"([^"]+)",\s*', page):
        traces, end = decoder.raw_decode(page, match.end())
        layout, _ = decoder.raw_decode(page, page.index("{", end))
        for trace in traces:
            trace["x"], trace["y"] = _values(trace.get("x", [])), _values(trace.get("y", []))
        found[match.group(1)] = (traces, layout)
    return found


def energy_j(page: str) -> float:
    """The last point of the cumulative energy line, in J (its unit from the axis title)."""
    from olmo_green.units import J_PER_KWH, J_PER_MWH

    traces, layout = figures(page)["cumulative-energy-plot"]
    unit = re.search(r"\((\w+)\)", layout["yaxis"]["title"]["text"]).group(1)
    per_unit = {"Wh": J_PER_KWH / 1000, "kWh": J_PER_KWH, "MWh": J_PER_MWH}[unit]
    y = traces[0]["y"]
    return float(y[np.isfinite(y)][-1]) * per_unit
