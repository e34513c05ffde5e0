"""The training loop's callback interface (after OLMo-core's callbacks).

The loop stays generic: energy, step rows and progress are callbacks with
fixed hooks, called in order. `close` runs even on error and on SIGTERM. A
callback's `state_dict` is stored in checkpoints so its counters survive
`--resume`.

`Callback` is a typing.Protocol: a class satisfies it by having every hook
with these signatures, so a mistyped hook is a type error, not a hook that is
silently never called. Subclass it to inherit the no-op defaults (as
model/steprows.py does); the telemetry layer's EnergyCallback satisfies it
without importing this module, since imports go one way (docs/design.md, Layout).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Callback(Protocol):
    """Every hook the trainer calls. Hooks must not raise into training."""

    def pre_train(self, state: dict[str, Any]) -> None:
        """Before the first step (also after a resume).

        `state` holds step (the last step done), run_dir, config, and is_main (whether
        this process writes the run's shared files).
        """

    def pre_step(self, step: int) -> None:
        """Before optimizer step `step` begins (its data loading included)."""

    def post_step(self, step: int, metrics: dict[str, float]) -> None:
        """After optimizer step `step` (metrics: loss, lr, tokens, grad_norm, tokens_per_s, mfu on
        GPUs, and record.MFU_INPUTS for the step row's own `mfu`)."""

    def pre_eval(self, step: int) -> None:
        """Before an evaluation window."""

    def post_eval(self, step: int, metrics: dict[str, float]) -> None:
        """After an evaluation window (metrics: eval_loss)."""

    def pre_checkpoint(self, step: int) -> None:
        """Before a checkpoint save."""

    def post_checkpoint(self, step: int, path: str) -> None:
        """After a checkpoint save; the callback's state_dict is already in it.

        With async_checkpoint the save may still be writing in the background: `path` is
        where it will be published, and post_checkpoint_write follows when it is."""

    def post_checkpoint_write(self, step: int, duration_s: float) -> None:
        """A background checkpoint write of `step` ended and was published (async_checkpoint);
        duration_s runs from the save call to the end of the write. Called on the main thread."""

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
