"""StepRows: the callback that writes steps.csv for a run without telemetry.

With telemetry on, the telemetry layer's EnergyCallback writes the rows
instead (its windows, energy included); a run has one of the two, never both.
Both write through olmo_green.linelog.StepLog, so the columns and the resume
rule are the same: a resumed run appends as a new attempt.
"""

from __future__ import annotations

from typing import Any

from olmo_green.clock import Clock
from olmo_green.model.callbacks import Callback
from olmo_green.record.linelog import StepLog
from olmo_green.record.steps import MFU_INPUTS


class StepRows(Callback):
    """One row per train step, eval and checkpoint window, timed on the run's clock."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.log: StepLog | None = None
        self._start_s = 0.0

    def pre_train(self, state: dict[str, Any]) -> None:
        if state.get("is_main", True):
            self.log = StepLog(state["run_dir"])

    def _begin(self, step: int) -> None:
        self._start_s = self.clock.now_s()

    pre_step = pre_eval = pre_checkpoint = _begin

    def post_step(self, step: int, metrics: dict[str, float]) -> None:
        self._write(step, "train", tokens=metrics.get("tokens"), loss=metrics.get("loss"),
                    lr=metrics.get("lr"), **{key: metrics.get(key) for key in MFU_INPUTS})

    def post_eval(self, step: int, metrics: dict[str, float]) -> None:
        self._write(step, "eval", loss=metrics.get("eval_loss"))

    def post_checkpoint(self, step: int, path: str) -> None:
        self._write(step, "checkpoint")

    def _write(self, step: int, phase: str, **values: Any) -> None:
        if self.log is not None:
            self.log.append({"step": step, "phase": phase, "time_start_s": self._start_s,
                             "time_end_s": self.clock.now_s(), **values})

    def close(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None
