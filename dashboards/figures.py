"""What every panel shares: the Panel record, layout, units, trace and note helpers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go

from olmo_green.dashboards.downsample import Envelope
from olmo_green.units import J_PER_KWH, J_PER_MWH, KG_PER_T

# Points one panel may draw in all: bounds the page for any run length and device count.
# A power point costs ~27 bytes (drawn twice: against steps and wall time), others ~11;
# with plotly.js (~4.8 MB) the page stays under 10 MB even for thousands of devices.
PANEL_POINT_BUDGET = 40_000
POWER_POINT_BUDGET = 60_000
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]


@dataclass
class Panel:
    """One section of the page: an id the browser test looks for, a figure, a caption."""

    panel_id: str
    title: str
    figure: go.Figure | None = None
    html: str = ""  # for panels that are not figures (the report table)
    notes: list[str] = field(default_factory=list)
    raw_points: int = 0  # before downsampling, for the page's summary
    shown_points: int = 0

    def add_downsample_note(self, envelopes: list[Envelope]) -> None:
        """Say under the panel whether, and by how much, it was downsampled."""
        self.raw_points += sum(e.raw_points for e in envelopes)
        self.shown_points += sum(e.shown_points for e in envelopes)
        self.notes.append(downsample_note(envelopes))


def run_color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def base_figure(title: str, x_title: str, y_title: str, height_px: int = 440) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        title={"text": title}, template="plotly_white", height=height_px,
        hovermode="closest", legend={"orientation": "v"}, margin={"t": 60, "r": 20, "l": 70, "b": 50},
    )
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return fig


def compact(values: np.ndarray) -> np.ndarray:
    """float32 for plotted values: half the bytes, and 7 digits is more than a screen shows."""
    return np.asarray(values, dtype=np.float32)


def energy_unit(max_j: float) -> tuple[str, float]:
    """(unit, joules per unit) for an energy axis: Wh for toy runs, kWh, MWh for real ones."""
    if max_j >= J_PER_MWH:
        return "MWh", J_PER_MWH
    if max_j >= J_PER_KWH:
        return "kWh", J_PER_KWH
    return "Wh", J_PER_KWH / 1000.0


def mass_unit(max_kg: float) -> tuple[str, float]:
    """(unit, kg per unit) for an emissions axis: t CO2e as in the model card, kg or g below."""
    if max_kg >= KG_PER_T:
        return "t CO2e", KG_PER_T
    if max_kg >= 1.0:
        return "kg CO2e", 1.0
    return "g CO2e", 1e-3


def downsample_note(envelopes: list[Envelope]) -> str:
    """Say on the page whether, and by how much, a panel was downsampled."""
    raw = sum(e.raw_points for e in envelopes)
    shown = sum(e.shown_points for e in envelopes)
    if not any(e.buckets for e in envelopes):
        return f"All {raw:,} points drawn (not downsampled)."
    factor = raw / max(shown, 1)
    return (
        f"Downsampled for display: {raw:,} points drawn as {shown:,} ({factor:,.0f}x fewer), "
        "keeping the minimum and maximum of each x bucket, so peaks and dips survive."
    )


def annotate_if_empty(fig: go.Figure) -> None:
    """Say so on a figure with nothing to draw, rather than show blank axes."""
    for trace in fig.data:
        if trace.y is not None and getattr(trace, "fill", None) is None and np.isfinite(
                np.asarray(trace.y, dtype=float)).any():
            return
    fig.add_annotation(text="No data for this panel in the run record(s).", xref="paper", yref="paper",
                       x=0.5, y=0.5, showarrow=False, font={"size": 14, "color": "#a00"})
