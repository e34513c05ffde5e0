"""The one interface of the meter's live outputs (Prometheus, trackers, the forecast).

The meter hands each output a LiveSnapshot (a copy of its figures, taken under its lock)
after every window it records; an output reads the snapshot and nothing else of the meter,
so none depends on the meter's internals and the meter depends on none of theirs. This is
codecarbon's shape (output_methods/base_output.py: a BaseOutput whose `out` and
`live_out` get an EmissionsData value), with events in return: what an output wants in the
record (a forecast) it returns, and the meter writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from olmo_green.telemetry.ledger import Window


@dataclass(frozen=True)
class TrackReading:
    """One device's running figures on this node."""

    device: str
    domain: str
    total_j: float  # since this process began sampling
    power_w: float  # latest reading; NaN before the first


@dataclass(frozen=True)
class LiveSnapshot:
    """What the meter knows at one moment; outputs read only this."""

    node: str
    method: str  # how the energy is measured (counter, power_integration, modelled, ...)
    last_step: int
    run_j: float  # the run's energy so far (all nodes, at the last sum)
    phase_j: dict[str, float] = field(default_factory=dict)
    tracks: tuple[TrackReading, ...] = ()
    window: Window | None = None  # the window just recorded; None for a scrape


class LiveOutput:
    """Base of the live outputs; every method is optional and none may raise into training
    (the meter guards each call all the same)."""

    def on_window(self, snapshot: LiveSnapshot) -> list[dict]:
        """A window was recorded (snapshot.window); return events for events.jsonl."""
        return []

    def progress_text(self) -> str:
        """A few words for the progress bar; empty for none."""
        return ""

    def close(self) -> None:
        """Release what the output holds (a server, a file)."""
