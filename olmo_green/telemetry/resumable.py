"""What a training-loop callback saves in its trainer's checkpoints: the meter's totals.

A resumed loop hands them back (its load_state_dict calls _hold_state) before or after the callback
has made its meter, so they are held until the meter exists. Shared by telemetry.callback and
integrations.olmo_core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from olmo_green.telemetry.meter import EnergyMeter


class ResumableMeter:
    """Mixin for a callback with a `meter` (None until pre_train) and `_pending_state` (None at first)."""

    meter: EnergyMeter | None
    _pending_state: dict | None

    def state_dict(self) -> dict[str, Any]:
        """The meter's totals; before the meter exists, those handed to load_state_dict."""
        return self.meter.state_dict() if self.meter is not None else dict(self._pending_state or {})

    def _hold_state(self, state: dict[str, Any]) -> None:
        """What load_state_dict does (its parameter's name is each loop's protocol's): given on resume,
        before or after pre_train, the totals are kept until the meter exists."""
        self._pending_state = dict(state)
        if self.meter is not None:
            self.meter.load_state_dict(state)

    def _resume_meter(self) -> None:
        """Give the just-made meter the totals handed over before it existed."""
        if self.meter is not None and self._pending_state is not None:
            self.meter.load_state_dict(self._pending_state)
