"""The training loop's callback interface (after OLMo-core's callbacks).

The loop stays generic: energy, logging and progress are callbacks with fixed
hooks, called in order. `close` runs even on error and on SIGTERM. A callback's
`state_dict` is stored in checkpoints so its counters survive `--resume`.

The telemetry layer implements these hooks by name (duck typing) without
importing this module: imports go one way (DESIGN.md, Layout).

Times passed to hooks are `time.monotonic()` values; the trainer does not
synchronise the device for them unless asked.
"""

from __future__ import annotations

from typing import Any


class Callback:
    """Base class: every hook is optional. Hooks must not raise into training."""

    def pre_train(self, state: dict[str, Any]) -> None:
        """Before the first step (also after a resume). `state` holds step, run_dir, config."""

    def pre_step(self, step: int) -> None:
        """Before optimizer step `step` begins (its data loading included)."""

    def post_step(self, step: int, metrics: dict[str, float]) -> None:
        """After optimizer step `step` (metrics: loss, lr, tokens, grad_norm, ...)."""

    def pre_eval(self, step: int) -> None:
        """Before an evaluation window."""

    def post_eval(self, step: int, metrics: dict[str, float]) -> None:
        """After an evaluation window."""

    def pre_checkpoint(self, step: int) -> None:
        """Before a checkpoint save."""

    def post_checkpoint(self, step: int, path: str) -> None:
        """After a checkpoint save; the callback's state_dict is already in it."""

    def step_fields(self, step: int, phase: str) -> dict[str, Any]:
        """Extra columns for the step row of this window, e.g. {"energy_j": 41.2}.

        Called after post_step (phase "train") and after post_checkpoint / post_eval
        (phase "checkpoint" / "eval"), on every rank; rank 0 writes the row. Keys
        that are step columns (runrecord.STEP_COLUMNS) are written; a column no
        callback fills stays empty.

        Who writes steps.csv: the trainer, unless a callback owns the file
        (TrainerParts.write_steps=False). `olmo-green train` uses the telemetry
        layer's EnergyCallback, which writes the rows itself (its windows, with
        energy_j) from post_step's metrics, so there the trainer writes none.
        """
        return {}

    def log_metrics(self, step: int, metrics: dict[str, float]) -> None:
        """Metrics to log; names carry their unit, e.g. "throughput/tokens (1/s)"."""

    def progress_text(self) -> str:
        """A short live status for the console progress bar (e.g. power and energy so far).

        Called on the main rank after each step; must be cheap and never raise.
        """
        return ""

    def on_error(self, error: BaseException) -> None:
        """Training raised; `close` follows."""

    def close(self) -> None:
        """Always called last, on success, error or SIGTERM. Must be idempotent."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what state_dict returned (on --resume)."""
