"""The training loop: generic, with callbacks (after OLMo-core's trainer, much smaller).

One optimizer step: pre_step -> batch -> micro-batches (forward, backward) ->
clip -> AdamW -> post_step. Checkpoints every save_interval steps and at the
end, each between pre_checkpoint and post_checkpoint (with async_checkpoint, a
background write then ends in post_checkpoint_write). The loop writes no file
of the run record itself: step rows are a callback's job (model/steprows.py, or
the telemetry layer's EnergyCallback). close() runs for every callback on
success, on error and on SIGTERM; on SIGTERM the loop finishes its step,
saves, closes and returns "preempted".
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from olmo_green.config import TrainConfig
from olmo_green.model import checkpoint as ckpt
from olmo_green.model.callbacks import Callback
from olmo_green.model.checkpoint_async import AsyncCheckpointer
from olmo_green.model.data import BatchLoader
from olmo_green.model.distributed import DistEnv, mean_across_ranks
from olmo_green.model.metrics import flops_per_token, mfu
from olmo_green.model.optim import clip_gradients, learning_rate, max_grad_norm, set_learning_rate
from olmo_green.record import CHECKPOINTS_DIR

log = logging.getLogger(__name__)
IGNORE = -100  # label id that cross_entropy skips (masked tokens)


def z_loss_sum(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The softmax auxiliary loss, summed over the tokens with a target: logsumexp(logits)^2
    (PaLM's z-loss; OLMo-core's cross_entropy_loss(compute_z_loss=True) and OLMo 2's
    auxiliary_loss_multiplier scale it). It keeps the softmax normaliser near 1 in bf16."""
    z = torch.logsumexp(logits, dim=-1)
    return (z.pow(2) * (labels != IGNORE)).sum()


@dataclass
class TrainerParts:
    """What a Trainer drives; built by olmo_green.commands.train or a test."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    loader: BatchLoader
    config: TrainConfig
    run_dir: Path
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    env: DistEnv = field(default_factory=DistEnv)
    callbacks: list[Callback] = field(default_factory=list)  # StepRows or EnergyCallback among them
    peak_flops_per_device: float | None = None  # from the hardware profile; None on CPU
    eval_loader: BatchLoader | None = None  # held-out batches; None: no eval windows


class Trainer:
    def __init__(self, parts: TrainerParts):
        self.parts = parts
        self.cfg = parts.config
        self.step = 0  # optimizer steps done
        self.accum = self.cfg.batch.accumulation_steps(parts.env.world_size)
        seq_len = self.cfg.model.sequence_length or parts.model.config.max_sequence_length
        self.tokens_per_step = self.cfg.batch.global_batch_size * seq_len
        self.flops_token = flops_per_token(parts.model.config, seq_len)
        self._preempted = False
        self._saved_step = -1
        self._progress = None
        self._writer = AsyncCheckpointer(self.checkpoints_dir, self.cfg.keep_checkpoints) \
            if self.cfg.async_checkpoint else None
        self._writes_done = False  # every rank's background write has ended (from the step's collective)

    # ------------------------------------------------------------ callbacks

    def _each(self, hook: Callable[[Callback], object]) -> None:
        """Call one hook on every callback, in order."""
        for cb in self.parts.callbacks:
            hook(cb)

    # ------------------------------------------------------------ resume

    @property
    def checkpoints_dir(self) -> Path:
        return self.parts.run_dir / CHECKPOINTS_DIR

    def restore(self, path: Path) -> None:
        """Continue from a checkpoint: model, optimizer, RNG, step (= data position), callbacks."""
        state = ckpt.load_checkpoint(path, self.parts.model, self.parts.optimizer)
        self.step = self._saved_step = int(state["step"])
        saved = state.get("callbacks", [])
        for cb, cb_state in zip(self.parts.callbacks, saved, strict=False):
            cb.load_state_dict(cb_state)

    # ------------------------------------------------------------ the loop

    def fit(self) -> str:
        """Train up to config.max_steps; returns "completed" or "preempted"."""
        previous = self._install_sigterm()
        failed = False
        try:
            state = {"step": self.step, "run_dir": str(self.parts.run_dir), "config": self.cfg,
                     "is_main": self.parts.env.is_main}
            self._each(lambda cb: cb.pre_train(state))
            self._start_progress()
            while self.step < self.cfg.max_steps and not self._preempted:
                self.train_step(self.step + 1)
                if self._writes_done:
                    self.finish_checkpoint_write()
                if self._eval_due():
                    self.evaluate()
                if self.step % self.cfg.save_interval == 0 or self.step == self.cfg.max_steps:
                    self.save()
            if self._preempted and self._saved_step != self.step:
                self.save()
            self.finish_checkpoint_write()  # a background write still in flight (a preemption after a save)
            return "preempted" if self._preempted else "completed"
        except BaseException as e:
            failed = True
            for cb in self.parts.callbacks:
                cb.on_error(e)
            raise
        finally:
            if self._writer is not None:
                self._writer.close()
            self._close(previous, raise_errors=not failed)

    def _close(self, previous_handler: Any, raise_errors: bool) -> None:
        """Close every callback; a close error is raised only if training itself succeeded,
        so it never hides the error that stopped training (that one is logged instead)."""
        if self._progress is not None:
            self._progress.stop()
        errors = []
        for cb in self.parts.callbacks:  # every close runs, even if one raises
            try:
                cb.close()
            except Exception as e:  # noqa: BLE001 - re-raised below, after the others closed
                errors.append(e)
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
        for error in errors if not raise_errors else errors[1:]:
            log.error("callback close failed: %r", error)
        if errors and raise_errors:
            raise errors[0]

    def _install_sigterm(self) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return None  # signals can only be handled on the main thread

        def on_sigterm(signum: int, frame: Any) -> None:
            self._preempted = True  # the step in flight finishes, then the loop saves and stops

        return signal.signal(signal.SIGTERM, on_sigterm)

    # ------------------------------------------------------------ one step

    def train_step(self, step: int) -> None:
        """One optimizer step with its hooks, step row and progress (what fit() repeats)."""
        start = time.monotonic()
        self._each(lambda cb: cb.pre_step(step))
        batch = self.parts.loader.batch(step - 1)
        lr = learning_rate(step, self.cfg.optim.lr, self.cfg.schedule, self.cfg.max_steps)
        set_learning_rate(self.parts.optimizer, lr)
        loss_sum = self._forward_backward(batch)
        grad_norm = clip_gradients(self._params, max_grad_norm(step, self.cfg.optim))
        self.parts.optimizer.step()
        self.parts.optimizer.zero_grad(set_to_none=True)
        loss, stop = self._reduce(loss_sum)  # the step's one CPU-GPU sync point
        self.step = step
        end = time.monotonic()
        self._preempted = self._preempted or stop
        self._after_step(step, end - start, loss, lr, float(grad_norm))

    @property
    def _params(self) -> list[torch.Tensor]:
        return [p for p in self.parts.model.parameters() if p.grad is not None]

    def _forward_backward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        input_ids = batch["input_ids"].to(self.parts.device, non_blocking=True)  # (B, T)
        labels = input_ids[:, 1:].clone()  # (B, T-1): next-token targets
        if "label_mask" in batch:
            labels.masked_fill_(~batch["label_mask"][:, 1:].to(self.parts.device), IGNORE)
        # normalise by this rank's target count: each micro-batch's sum adds up to the mean
        n_targets = (labels != IGNORE).sum().clamp(min=1)
        total = torch.zeros((), device=self.parts.device)
        micro = self.cfg.batch.micro_batch_size
        for i in range(self.accum):
            rows = slice(i * micro, (i + 1) * micro)
            self._sync_grads(i == self.accum - 1)
            with self._autocast():
                logits = self.parts.model(input_ids[rows])[:, :-1]  # (b, T-1, V)
            flat_logits, flat_labels = logits.float().flatten(0, 1), labels[rows].flatten()
            loss = F.cross_entropy(flat_logits, flat_labels, ignore_index=IGNORE, reduction="sum") / n_targets
            z_loss = self.cfg.optim.z_loss_multiplier * z_loss_sum(flat_logits, flat_labels) / n_targets
            (loss + z_loss).backward()
            total += loss.detach()  # the reported loss is the cross-entropy, as OLMo-core's train/CE loss
        return total

    def _sync_grads(self, last: bool) -> None:
        # FSDP2: reduce-scatter gradients only after the last micro-batch
        if self.accum > 1 and hasattr(self.parts.model, "set_requires_gradient_sync"):
            self.parts.model.set_requires_gradient_sync(last)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.parts.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()  # fp32 on CPU

    def _reduce(self, loss_sum: torch.Tensor) -> tuple[float, bool]:
        """Mean loss over ranks, whether any rank was asked to stop, and whether every rank's
        background checkpoint write has ended (one collective for all three)."""
        writing = self._writer is not None and not self._writer.write_done()
        flags = torch.tensor([float(self._preempted), float(writing)], device=loss_sum.device)
        packed = torch.cat([loss_sum.reshape(1), flags])
        if self.parts.env.is_distributed:
            packed = mean_across_ranks(packed)
        loss, stop, still_writing = packed.tolist()
        self._writes_done = self._writer is not None and self._writer.pending is not None \
            and still_writing == 0
        return loss, stop > 0

    def _after_step(self, step: int, duration_s: float, loss: float, lr: float, grad_norm: float) -> None:
        tokens_per_s = self.tokens_per_step / max(duration_s, 1e-9)
        metrics = {"loss": loss, "lr": lr, "grad_norm": grad_norm, "tokens": self.tokens_per_step,
                   "tokens_per_s": tokens_per_s}
        parts = self.parts
        util = mfu(tokens_per_s, self.flops_token, parts.peak_flops_per_device, parts.env.world_size)
        if util is not None and parts.device.type != "cpu":
            metrics["mfu"] = util
        # what the step-row writer needs for the row's `mfu` over its own window (record.window_mfu)
        metrics |= {"flops_per_token": self.flops_token, "peak_flops_per_device": parts.peak_flops_per_device,
                    "world_size": parts.env.world_size}
        self._each(lambda cb: cb.post_step(step, metrics))
        self._advance_progress(loss, tokens_per_s)

    # ------------------------------------------------------------ eval

    def _eval_due(self) -> bool:
        interval = self.cfg.eval_interval
        return self.parts.eval_loader is not None and interval > 0 and self.step % interval == 0

    def evaluate(self) -> float:
        """Mean held-out loss: an "eval" window between its hooks."""
        self._each(lambda cb: cb.pre_eval(self.step))
        loss = self._eval_loss()
        self._each(lambda cb: cb.post_eval(self.step, {"eval_loss": loss}))
        return loss

    @torch.no_grad()
    def _eval_loss(self) -> float:
        self.parts.model.eval()
        total = torch.zeros((), device=self.parts.device)
        for index in range(self.cfg.eval_batches):
            input_ids = self.parts.eval_loader.batch(index)["input_ids"].to(self.parts.device)  # (B, T)
            with self._autocast():
                logits = self.parts.model(input_ids)[:, :-1]  # (B, T-1, V)
            total += F.cross_entropy(logits.float().flatten(0, 1), input_ids[:, 1:].flatten())
        self.parts.model.train()
        mean = total / self.cfg.eval_batches
        return float(mean_across_ranks(mean) if self.parts.env.is_distributed else mean)

    # ------------------------------------------------------------ checkpoints

    def save(self) -> Path:
        """A checkpoint of this step: a "checkpoint" window between its hooks.

        With async_checkpoint the window covers only the time training is blocked (a previous
        write still in flight, the copy of the state); the write goes on in the background and
        is published later (model/checkpoint_async.py). The last save of a run (max_steps, or
        a preemption) has nothing left to overlap with and is written synchronously.
        """
        self._each(lambda cb: cb.pre_checkpoint(self.step))
        self.finish_checkpoint_write()
        rank_state = {"step": self.step, "callbacks": [cb.state_dict() for cb in self.parts.callbacks]}
        model, optimizer = self.parts.model, self.parts.optimizer
        last = self.step >= self.cfg.max_steps or self._preempted
        if self._writer is not None and not last:
            path = self._writer.save(self.step, model, optimizer, rank_state)
        else:
            path = ckpt.save_checkpoint(self.checkpoints_dir, self.step, model, optimizer, rank_state,
                                        keep=self.cfg.keep_checkpoints)
        self._saved_step = self.step
        self._each(lambda cb: cb.post_checkpoint(self.step, str(path)))
        return path

    def finish_checkpoint_write(self) -> None:
        """Wait for the background write in flight, if any, publish it, and tell the callbacks."""
        self._writes_done = False
        written = self._writer.finish() if self._writer is not None else None
        if written is not None:
            self._each(lambda cb: cb.post_checkpoint_write(written.step, written.duration_s))

    # ------------------------------------------------------------ console

    def _start_progress(self) -> None:
        if not (self.cfg.progress and self.parts.env.is_main):
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("{task.description}"), TimeRemainingColumn())
        self._task = self._progress.add_task("", total=self.cfg.max_steps, completed=self.step)
        self._progress.start()

    def _advance_progress(self, loss: float, tokens_per_s: float) -> None:
        if self._progress is not None:
            parts = [f"loss {loss:.3f}", f"{tokens_per_s:,.0f} tok/s", *self._callback_texts()]
            self._progress.update(self._task, completed=self.step, description="  ".join(parts))

    def _callback_texts(self) -> list[str]:
        texts = (cb.progress_text() for cb in self.parts.callbacks)
        return [t for t in texts if t]
