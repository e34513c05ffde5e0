"""A Hugging Face transformers TrainerCallback that runs an EnergyMeter.

    trainer = Trainer(..., callbacks=[hf_energy_callback(run_dir="runs/hf", hardware="h100")])

transformers is imported only when the callback is built.

Loss and learning rate: Trainer calls `on_step_end` before it logs (transformers 5,
Trainer._inner_training_loop then _maybe_log_save_evaluate), so the step's loss is
only known at the `on_log` that follows. On a step Trainer will log (DefaultFlowCallback,
which runs first, has set `control.should_log`; every step with logging_strategy
"epoch"), the step's window is closed at that `on_log` with the loss and learning rate
Trainer logged, exactly as `state.log_history` holds them for that step; the log's own
work (the loss's device sync) joins the step. Other steps close at `on_step_end`
with no loss: with `logging_steps=N` the loss, Trainer's mean over the N steps,
lands on the step Trainer logged it at, never copied to the others.

Each `train()` call is measured as its own attempt of the record (steps.csv's
`attempt` column): `on_train_begin` opens a new meter (and closes one a previous call
left open), as a resumed run does. A second train() restarting at step 0 therefore
reads like a resume from step 0: its energy adds up, its steps' tokens replace the
earlier attempt's (record.superseded_steps).
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
            self.attempts = 0  # train() calls measured by this callback
            self.tokens_seen = 0
            self._pending: tuple[int, dict] | None = None  # a step that ended, waiting for its log

        def on_train_begin(self, args, state, control, **kwargs):
            if self.attempts:  # another train() (same or another Trainer): a new attempt
                self._flush()
                self.meter.close()
                self.meter = EnergyMeter(run_dir, hardware, **meter_options)
            self.attempts += 1
            self.tokens_seen = getattr(state, "num_input_tokens_seen", 0) or 0
            self.meter.start(state.global_step, first_phase="idle")

        def on_step_begin(self, args, state, control, **kwargs):
            self._flush()  # a logged step whose log never came
            self.meter.begin("train")

        def on_step_end(self, args, state, control, **kwargs):
            metrics = {"tokens": self._step_tokens(state)}
            if getattr(control, "should_log", False) or _logs_per_epoch(args):
                self._pending = (state.global_step, metrics)  # closed by the on_log that follows
            else:
                self.meter.end_step(state.global_step, metrics)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if self._pending is None or not logs or "loss" not in logs:
                return  # an eval's or the final summary's log: no step's loss
            step, metrics = self._pending
            if state.global_step == step:
                metrics.update(loss=logs.get("loss"), lr=logs.get("learning_rate"))
            self._flush()

        def _flush(self) -> None:
            if self._pending is not None:
                step, metrics = self._pending
                self._pending = None
                self.meter.end_step(step, metrics)

        def _step_tokens(self, state) -> int | None:
            """Tokens of this step, where Trainer counts them (include_num_input_tokens_seen);
            else unknown, never a guess."""
            seen = getattr(state, "num_input_tokens_seen", 0) or 0
            step_tokens, self.tokens_seen = seen - self.tokens_seen, seen
            return int(step_tokens) if step_tokens > 0 else None

        def on_evaluate(self, args, state, control, **kwargs):
            # transformers has no "evaluation begins" hook: the idle window since the
            # last step held the evaluation, so it is relabelled.
            self._flush()
            self.meter.relabel_open_phase("eval")
            self.meter.begin("idle")

        def on_train_end(self, args, state, control, **kwargs):
            self._flush()
            self.meter.close()

    return EnergyTrainerCallback()


def _logs_per_epoch(args) -> bool:
    """logging_strategy "epoch": Trainer logs after on_epoch_end, so any step may be the logged one."""
    return str(getattr(args, "logging_strategy", "")).lower().endswith("epoch")
