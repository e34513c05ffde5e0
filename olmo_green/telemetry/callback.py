"""EnergyCallback: the meter as a training-loop callback.

It satisfies olmo_green.model's Callback protocol (every hook, same signatures)
without importing model: imports go one way, and a test holds the signatures
to the protocol's. Each hook opens the window the loop is entering; the meter
writes the step rows (steps.csv, energy_j included); `close` runs last, even
on error or SIGTERM.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from olmo_green.carbon.accounting import headline_factor
from olmo_green.hardware.profiles import HardwareProfile
from olmo_green.telemetry.meter import EnergyMeter
from olmo_green.telemetry.resumable import ResumableMeter

log = logging.getLogger(__name__)


class EnergyCallback(ResumableMeter):
    def __init__(self, run_dir: str | Path | None = None, hardware: str | HardwareProfile = "local",
                 **meter_options: Any) -> None:
        self.run_dir, self.hardware, self.meter_options = run_dir, hardware, meter_options
        self.meter: EnergyMeter | None = None
        self._pending_state: dict | None = None
        self._error = False
        self._headline: tuple[float, str] | tuple[()] | None = None  # found on first use

    def pre_train(self, state: dict[str, Any]) -> None:
        run_dir = state.get("run_dir") or self.run_dir
        self.meter = EnergyMeter(run_dir, self.hardware, **self.meter_options)
        self._resume_meter()
        step = int(state["step"]) if "step" in state else None
        self.meter.start(step, first_phase="idle")

    def pre_step(self, step: int) -> None:
        self._meter("train")

    def post_step(self, step: int, metrics: dict[str, float]) -> None:
        if self.meter is not None:
            self.meter.end_step(step, metrics)

    def pre_eval(self, step: int) -> None:
        self._meter("eval")

    def post_eval(self, step: int, metrics: dict[str, float]) -> None:
        if self.meter is not None:  # the eval row carries the held-out loss
            self.meter.begin("idle", {"loss": metrics.get("eval_loss")})

    def pre_checkpoint(self, step: int) -> None:
        self._meter("checkpoint")
        if self.meter is not None:
            # The rows of the steps this checkpoint holds reach steps.csv before it does: a run
            # killed after the checkpoint and resumed from it would otherwise never write them.
            self.meter.sync(force=True)

    def post_checkpoint(self, step: int, path: str) -> None:
        self._meter("idle")

    def post_checkpoint_write(self, step: int, duration_s: float) -> None:
        if self.meter is not None:  # the write overlapped training: an event, not a window
            self.meter.record_checkpoint_write(step, duration_s)

    def on_error(self, error: BaseException) -> None:
        self._error = True

    def close(self) -> None:
        if self.meter is not None:
            self.meter.close(error=self._error)

    def live_status(self) -> dict:
        """Power now (W), energy so far (kWh) and method, for the progress bar."""
        if self.meter is None:
            return {"power_w": 0.0, "energy_kwh": 0.0, "method": "none"}
        return self.meter.live_status()

    def progress_text(self) -> str:
        """Live power, energy and emissions so far, for the trainer's progress bar."""
        if self.meter is None:
            return ""
        status = self.meter.live_status()
        text = f"{status['power_w']:,.0f} W  {status['energy_kwh']:.4g} kWh"
        if self._headline is None:
            self._headline = headline_factor(self.meter.profile)
        if self._headline:
            kg_per_kwh, basis = self._headline
            text += f"  {status['energy_kwh'] * kg_per_kwh:.3g} kg CO2e ({basis}, x PUE)"
        forecast = self.meter.live.progress_text() if self.meter.live is not None else ""
        return f"{text}  [{status['method']}]" + (f"  {forecast}" if forecast else "")

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Called on --resume, before or after pre_train."""
        self._hold_state(state)

    def _meter(self, phase: str) -> None:
        if self.meter is not None:
            self.meter.begin(phase)

