"""Asynchronous checkpoints: training waits only while the state is copied, not while it is written.

Synchronous saves stall the accelerators for the whole write; Morrison et al. (ICLR 2025)
saw GPU power drop from about 85 % to about 15 % of its maximum during them. Here a save:

1. blocks training only to copy the model and optimizer state out of the live tensors
   (one process: into host memory, by `to_host`; several: DCP's `async_save`, which
   stages to host memory itself) and to write this rank's small trainer/RNG state;
2. writes the copy into `stepNNNNNN.partial/` in the background (a worker thread; DCP's
   own thread under several processes, on a gloo group of its own so that its
   collectives never interleave with training's);
3. is published by `finish()` on the main thread, every rank at the same point (the
   trainer calls it at a step boundary once every rank's write is done, before the
   next save, and at the end): rename to `stepNNNNNN/`, then `latest`, as
   model/checkpoint.py's synchronous save does (its `publish`).

Until 3, `latest` names the previous checkpoint: a crash or a kill in between leaves a
`.partial` folder, which the next save removes, and a run resumable from the previous
checkpoint. The layout on disk is the synchronous one, so loading is unchanged.
"""

from __future__ import annotations

import copy
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from olmo_green.errors import InputFileError
from olmo_green.model import checkpoint as ckpt
from olmo_green.model.distributed import barrier


@dataclass
class PendingWrite:
    step: int
    final: Path
    partial: Path
    future: Future
    start_s: float  # time.monotonic() when the save was called
    end_s: float | None = None  # when the background write ended


@dataclass(frozen=True)
class Written:
    """A background write that finished and was published."""

    step: int
    path: Path
    duration_s: float  # from the save call to the end of the write (as OLMo-core's save_async_duration_s)


def to_host(value: Any) -> Any:
    """A copy of a state dict in host memory, sharing no storage with the live tensors
    (the optimizer step after the save changes those in place)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: to_host(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_host(item) for item in value)
    return copy.deepcopy(value)


class AsyncCheckpointer:
    """One background checkpoint write at a time, into `folder`; keeps the newest `keep` (0: all)."""

    def __init__(self, folder: Path, keep: int = 0) -> None:
        self.folder, self.keep = folder, keep
        self.pending: PendingWrite | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._group = None  # DCP's process group (gloo), made on the first save with several ranks

    def save(self, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
             rank_state: dict[str, Any]) -> Path:
        """Stage the state and start writing it; returns where it will be published.

        A write still in flight is finished first: one write at a time bounds host memory."""
        if self.pending is not None:
            self.finish()
        start_s = time.monotonic()
        rank = dist.get_rank() if dist.is_initialized() else 0
        final, partial = ckpt.checkpoint_paths(self.folder, step)
        try:
            ckpt.start_partial(self.folder, partial, rank)
            ckpt.write_rank_state(partial, rank, rank_state)  # small: written now, RNG as of this step
            future = self._start_write(partial, ckpt.model_optim_state(model, optimizer))
        except (OSError, RuntimeError, InputFileError) as e:
            shutil.rmtree(partial, ignore_errors=True)
            raise ckpt.CheckpointWriteError(ckpt.write_failure(self.folder, final, e)) from e
        self.pending = pending = PendingWrite(step, final, partial, future, start_s)
        future.add_done_callback(lambda _: setattr(pending, "end_s", time.monotonic()))
        return final

    def _start_write(self, partial: Path, state: dict[str, Any]) -> Future:
        if dist.is_initialized():
            import torch.distributed.checkpoint as dcp

            response = dcp.async_save(state, checkpoint_id=str(partial / "sharded"),
                                      process_group=self._process_group())
            return getattr(response, "upload_completion", response)  # a Future, or one inside a response
        host_state = to_host(state)  # the only part training waits for
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="olmo-green-checkpoint")
        return self._executor.submit(write_model_optim, host_state, partial / ckpt.MODEL_OPTIM_FILE)

    def _process_group(self):
        """A gloo group for DCP's background collectives (new_group is itself a collective:
        every rank reaches it at the same save)."""
        if self._group is None:
            self._group = dist.new_group(backend="gloo")
        return self._group

    def write_done(self) -> bool:
        """Whether this rank's pending write has ended (True when none is pending)."""
        return self.pending is None or self.pending.future.done()

    def finish(self) -> Written | None:
        """Wait for the pending write and publish it; every rank calls this at the same point.

        A failed write removes its `.partial` folder and raises CheckpointWriteError; `latest`
        still names the previous checkpoint."""
        pending, self.pending = self.pending, None
        if pending is None:
            return None
        error = pending.future.exception()  # waits for the write
        if not self._all_ranks_ok(error is None):
            shutil.rmtree(pending.partial, ignore_errors=True)
            cause = error or RuntimeError("another rank's checkpoint write failed")
            raise ckpt.CheckpointWriteError(ckpt.write_failure(self.folder, pending.final, cause)) from error
        barrier()
        if not dist.is_initialized() or dist.get_rank() == 0:
            ckpt.publish(self.folder, pending.partial, pending.final, self.keep)
        barrier()
        end_s = pending.end_s or time.monotonic()
        return Written(pending.step, pending.final, end_s - pending.start_s)

    def _all_ranks_ok(self, ok: bool) -> bool:
        """Every rank's write succeeded (one small collective on the gloo group)."""
        if not dist.is_initialized():
            return ok
        flag = torch.tensor([0.0 if ok else 1.0])
        dist.all_reduce(flag, group=self._process_group())  # sum of failures
        return flag.item() == 0.0

    def close(self) -> None:
        """Stop the worker. A write still in flight (only after a training error: the trainer
        finishes the last one otherwise) is waited for and not published, since other ranks may
        be gone; its `.partial` folder stays until the next save removes it."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.future.exception()  # waits; a failed write needs no report beside the error
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def write_model_optim(state: dict[str, Any], path: Path) -> None:
    """The background write of one process's model and optimizer state."""
    torch.save(state, path)
