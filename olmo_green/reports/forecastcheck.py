"""How far the run's first forecast (telemetry/forecast.py) was from the measured total."""

from __future__ import annotations

from collections.abc import Sequence

from olmo_green import record as rr
from olmo_green.units import J_PER_MWH


def first_forecast(events: Sequence[dict]) -> dict | None:
    """The run's first `forecast` event, or None."""
    return next((e for e in events if e.get("kind") == rr.EVENT_FORECAST), None)


def forecast_notes(events: Sequence[dict], gpu_energy_j: float) -> list[str]:
    """One line: the first forecast of GPU energy at the run's end against the measured total.

    A run stopped before its max_steps (or resumed past it) is compared all the same: the
    line names the step count the forecast was for.
    """
    first = first_forecast(events)
    if first is None or gpu_energy_j <= 0:
        return []
    forecast_mwh, measured_mwh = float(first["energy_mwh_at_end"]), gpu_energy_j / J_PER_MWH
    off = (forecast_mwh - measured_mwh) / measured_mwh
    return [f"first forecast, at step {first['at_step']} of {first.get('max_steps', '?')}: "
            f"{forecast_mwh:.4g} MWh of GPU energy at the end; measured {measured_mwh:.4g} MWh "
            f"({off:+.1%})"]
