"""Eval and checkpoint windows in OLMo-core, which has no hook around a save or an eval.

The trainer's `save_checkpoint` and `save_checkpoint_async` and each
evaluator's `perform_eval` are wrapped on the instance (the class is left
alone) and unwrapped at the end. That catches every save (the pre-train save
at step 0, interval, ephemeral and final saves) and every eval (on startup, at
an interval, on finish). An async save blocks training only while it stages
the state: that part is the "checkpoint" window; the write then goes on in the
background and, when it completes, becomes a `checkpoint_write` event. This
module imports no OLMo-core: the callback hands it the objects to wrap.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any

from olmo_green.telemetry.meter import EnergyMeter


class WindowWrappers:
    def __init__(self, meter: EnergyMeter, step: Callable[[], int]) -> None:
        self.meter, self.step = meter, step
        self._patched: list[tuple[object, str, Any, Any]] = []  # (owner, name, ours, what it replaced)

    def wrap(self, trainer: object, evaluators: Iterable[object]) -> None:
        self._patch(trainer, "save_checkpoint", self._save)
        self._patch(trainer, "save_checkpoint_async", self._save_async)
        for evaluator in evaluators:
            self._patch(evaluator, "perform_eval", self._eval)

    def unwrap(self) -> None:
        while self._patched:
            owner, name, ours, replaced = self._patched.pop()
            if vars(owner).get(name) is not ours:
                continue  # wrapped again by someone else since: theirs stays
            if replaced is None:
                delattr(owner, name)  # the class's method shows through again
            else:
                setattr(owner, name, replaced)

    def _patch(self, owner: object, name: str, wrapper: Callable) -> None:
        original = getattr(owner, name)
        ours = functools.wraps(original)(functools.partial(wrapper, original))
        self._patched.append((owner, name, ours, vars(owner).get(name)))
        setattr(owner, name, ours)

    def _save(self, original: Callable, *args: Any, **kwargs: Any) -> Any:
        self._enter_checkpoint()
        try:
            return original(*args, **kwargs)
        finally:
            self.meter.begin("idle")

    def _save_async(self, original: Callable, *args: Any, **kwargs: Any) -> tuple[Any, Future]:
        step, start_s = self.step(), time.monotonic()
        self._enter_checkpoint()
        try:
            path, future = original(*args, **kwargs)
        finally:
            self.meter.begin("idle")  # the write goes on in the background while training resumes
        future.add_done_callback(functools.partial(self._written, step, start_s))
        return path, future

    def _enter_checkpoint(self) -> None:
        self.meter.begin("checkpoint")
        # The rows of the steps this checkpoint holds reach steps.csv before it does, and the totals
        # it saves include them: a run killed after it and resumed from it loses neither. Every rank
        # saves at the same step, so this sum over ranks is reached by all.
        self.meter.sync(force=True)

    def _written(self, step: int, start_s: float, future: Future) -> None:
        """On OLMo-core's checkpoint thread: an event only, no collective (the main thread runs them)."""
        error = future.exception()
        # From the call to the write's end, as OLMo-core's checkpoint/save_async_duration_s.
        self.meter.record_checkpoint_write(step, time.monotonic() - start_s,
                                           None if error is None else str(error))

    def _eval(self, original: Callable, *args: Any, **kwargs: Any) -> Any:
        self.meter.begin("eval")
        try:
            return original(*args, **kwargs)
        finally:
            self.meter.begin("idle")
