"""A Hugging Face transformers TrainerCallback that runs an EnergyMeter.

    trainer = Trainer(..., callbacks=[hf_energy_callback(run_dir="runs/hf", hardware="h100")])

transformers is imported only when the callback is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from olmo_green.hardware.profiles import HardwareProfile
from olmo_green.telemetry.meter import EnergyMeter


def hf_energy_callback(run_dir: str | Path | None = None, hardware: str | HardwareProfile = "local",
                       **meter_options: Any):
    """A transformers.TrainerCallback measuring each optimizer step and each evaluation."""
    from transformers import TrainerCallback

    class EnergyTrainerCallback(TrainerCallback):
        def __init__(self) -> None:
            self.meter = EnergyMeter(run_dir, hardware, **meter_options)
            self.tokens_seen = 0

        def on_train_begin(self, args, state, control, **kwargs):
            self.tokens_seen = getattr(state, "num_input_tokens_seen", 0) or 0
            self.meter.start(state.global_step, first_phase="idle")

        def on_step_begin(self, args, state, control, **kwargs):
            self.meter.begin("train")

        def on_step_end(self, args, state, control, **kwargs):
            history = state.log_history[-1] if state.log_history else {}
            if history.get("step", state.global_step) != state.global_step:
                history = {}  # logged at an earlier step: not this step's loss
            self.meter.end_step(state.global_step, {"loss": history.get("loss"),
                                                    "lr": history.get("learning_rate"),
                                                    "tokens": self._step_tokens(state)})

        def _step_tokens(self, state) -> int | None:
            """Tokens of this step, where Trainer counts them (include_num_input_tokens_seen);
            else unknown, never a guess."""
            seen = getattr(state, "num_input_tokens_seen", 0) or 0
            step_tokens, self.tokens_seen = seen - self.tokens_seen, seen
            return int(step_tokens) if step_tokens > 0 else None

        def on_evaluate(self, args, state, control, **kwargs):
            # transformers has no "evaluation begins" hook: the idle window since the
            # last step held the evaluation, so it is relabelled.
            self.meter.relabel_open_phase("eval")
            self.meter.begin("idle")

        def on_train_end(self, args, state, control, **kwargs):
            self.meter.close()

    return EnergyTrainerCallback()
