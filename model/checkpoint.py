"""Checkpoints: atomic saves, and everything a resume needs to continue bitwise.

    RUN/checkpoints/step000100/model_optim.pt   one process: model + optimizer (torch.save)
    RUN/checkpoints/step000100/sharded/         several: the same through torch.distributed.checkpoint
    RUN/checkpoints/step000100/rank0.pt         per rank: trainer state, RNG states, callbacks' state
    RUN/checkpoints/latest                      name of the last complete checkpoint

Atomicity: a checkpoint is written into `<name>.partial/` and renamed only when
every rank has finished; `latest` is replaced (tmp + rename) after that. A crash
mid-save leaves a `.partial` folder that the next save removes, and `latest`
still names the last good checkpoint. A save that fails (a full disk, no
permission) removes its `.partial` folder and stops the run with one line
(CheckpointWriteError, exit code 1); the previous checkpoint is untouched.

With async_checkpoint, model/checkpoint_async.py writes the same layout in the
background through the steps below (start_partial, write_rank_state, publish), so
there is one way to lay out, publish and load a checkpoint.

Loading uses weights_only=True. A checkpoint that cannot be read (truncated,
corrupt, from another model) is one line naming it and the previous complete
checkpoint to resume from instead (`train --resume-from stepNNNNNN`).
"""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path
from pickle import UnpicklingError  # only its error: torch raises it for a refused checkpoint
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from olmo_green.errors import GreenError, InputFileError
from olmo_green.fileio import write_atomic
from olmo_green.model.distributed import barrier

LATEST = "latest"
MODEL_OPTIM_FILE = "model_optim.pt"
PARTIAL = ".partial"
_COMPLETE = re.compile(r"^step(\d{6,})$")  # a published checkpoint (not .partial, not .old)


class CheckpointWriteError(GreenError):
    """A checkpoint could not be written: the run stops (exit code 1, not a user's mistake)."""

    exit_code = 1


def step_name(step: int) -> str:
    return f"step{step:06d}"


def complete_checkpoints(folder: Path) -> list[Path]:
    """Published checkpoints, oldest first (by step)."""
    found = [p for p in folder.glob("step*") if p.is_dir() and _COMPLETE.match(p.name)] \
        if folder.is_dir() else []
    return sorted(found, key=lambda p: int(_COMPLETE.match(p.name).group(1)))


def _previous(checkpoint: Path) -> Path | None:
    """The newest published checkpoint before `checkpoint`, to offer in its place."""
    earlier = [p for p in complete_checkpoints(checkpoint.parent) if p.name < checkpoint.name]
    return earlier[-1] if earlier else None


def _instead(checkpoint: Path) -> str:
    previous = _previous(checkpoint)
    if previous is None:
        return "there is no earlier checkpoint: start again with another --run-dir"
    return f"resume from the previous one with `--resume-from {previous.name}`"


# ---------------------------------------------------------------- RNG


def rng_state() -> dict[str, Any]:
    """Every RNG a step may touch, in tensors and plain values (weights_only-safe)."""
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": (np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ---------------------------------------------------------------- save


def model_optim_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Model and optimizer state as saved: plain state dicts, or DCP's sharded ones under FSDP2."""
    if dist.is_initialized():
        from torch.distributed.checkpoint.state_dict import get_state_dict

        model_sd, optim_sd = get_state_dict(model, optimizer)
        return {"model": model_sd, "optim": optim_sd}
    return {"model": model.state_dict(), "optim": optimizer.state_dict()}


def save_checkpoint(folder: Path, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    rank_state: dict[str, Any], keep: int = 0) -> Path:
    """Save atomically into folder/stepNNNNNN; every rank calls this. Returns the path.

    After a good save only the newest `keep` complete checkpoints remain (0: all)."""
    rank = dist.get_rank() if dist.is_initialized() else 0
    final, partial = checkpoint_paths(folder, step)
    try:
        start_partial(folder, partial, rank)
        _write_payload(partial, rank, model, optimizer, rank_state)
        barrier()
        if rank == 0:
            publish(folder, partial, final, keep)
    except (OSError, RuntimeError, InputFileError) as e:  # torch.save: a full disk is a RuntimeError
        shutil.rmtree(partial, ignore_errors=True)
        raise CheckpointWriteError(write_failure(folder, final, e)) from e
    barrier()
    return final


def checkpoint_paths(folder: Path, step: int) -> tuple[Path, Path]:
    """(the published folder, the .partial folder it is written into) for `step`."""
    final = folder / step_name(step)
    return final, folder / (final.name + PARTIAL)


def start_partial(folder: Path, partial: Path, rank: int) -> None:
    """An empty `.partial` folder for every rank to write into (debris of a crashed save removed)."""
    if rank == 0:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
    barrier()


def write_failure(folder: Path, final: Path, error: BaseException) -> str:
    """The one line a failed save stops the run with, naming the checkpoint still intact."""
    reason = getattr(error, "strerror", None) or (str(error).splitlines() or [type(error).__name__])[0]
    latest = latest_checkpoint(folder)
    kept = f"the last checkpoint {latest.name} is intact" if latest is not None else "no checkpoint was kept"
    return (f"cannot write checkpoint {final} ({reason[:200]}); training stopped, {kept}: "
            "free space or fix permissions, then continue with --resume")


def _write_payload(partial: Path, rank: int, model, optimizer, rank_state: dict[str, Any]) -> None:
    state = model_optim_state(model, optimizer)
    if dist.is_initialized():
        import torch.distributed.checkpoint as dcp

        dcp.save(state, checkpoint_id=str(partial / "sharded"))
    else:
        torch.save(state, partial / MODEL_OPTIM_FILE)
    write_rank_state(partial, rank, rank_state)


def write_rank_state(partial: Path, rank: int, rank_state: dict[str, Any]) -> None:
    """This rank's trainer state and its RNG states as they are now."""
    torch.save({**rank_state, "rng": rng_state()}, partial / f"rank{rank}.pt")


def publish(folder: Path, partial: Path, final: Path, keep: int) -> None:
    """Rename the finished save into place, then point `latest` at it (rank 0, after every rank wrote)."""
    if final.exists():  # the same step saved again (a resume that ends where it began)
        old = final.with_name(final.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
        partial.rename(final)
        shutil.rmtree(old)
    else:
        partial.rename(final)
    write_atomic(folder / LATEST, final.name + "\n", what="--run-dir")  # a reader never sees half a name
    if keep:
        _prune(folder, keep, final.name)


def _prune(folder: Path, keep: int, newest: str) -> None:
    complete = sorted(p for p in folder.glob("step*") if p.is_dir() and p.suffix == "")
    for old in complete[:-keep]:
        if old.name != newest:
            shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------- load


def latest_checkpoint(folder: Path) -> Path | None:
    """The last complete checkpoint, from `latest` (never a .partial folder)."""
    pointer = folder / LATEST
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8", errors="replace").strip()
    if not _COMPLETE.match(name):  # only a checkpoint of this folder: never ../elsewhere
        return None
    path = folder / name
    return path if path.is_dir() else None


def load_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore model, optimizer and RNG states in place; return this rank's saved state.

    A file that cannot be read is an InputFileError naming the checkpoint and the one before it."""
    rank = dist.get_rank() if dist.is_initialized() else 0
    rank_file = path / f"rank{rank}.pt"
    if not rank_file.exists():
        raise InputFileError(f"{path} has no state for rank {rank}; "
                             "resume with the world size it was saved with")
    if dist.is_initialized():
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import set_state_dict

        state = model_optim_state(model, optimizer)
        dcp.load(state, checkpoint_id=str(path / "sharded"))
        set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"])
    else:
        if not (path / MODEL_OPTIM_FILE).exists():
            if (path / "sharded").is_dir():
                raise InputFileError(f"{path} holds sharded state from several processes; "
                                     "resume with the world size it was saved with")
            raise InputFileError(f"{path} is incomplete (no {MODEL_OPTIM_FILE}); {_instead(path)}")
        state = _torch_load(path / MODEL_OPTIM_FILE, path)
        _restore_into(path, state, model, optimizer)
    rank_state = _torch_load(rank_file, path)
    if not isinstance(rank_state, dict) or "step" not in rank_state or "rng" not in rank_state:
        raise InputFileError(f"{rank_file}: not a trainer state (no step or RNG state); {_instead(path)}")
    step = rank_state["step"]
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise InputFileError(f"{rank_file}: step {step!r} is not a step number; {_instead(path)}")
    try:
        set_rng_state(rank_state.pop("rng"))
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise InputFileError(f"{rank_file}: unreadable RNG state ({type(e).__name__}); "
                             f"{_instead(path)}") from e
    return rank_state


def read_checkpoint_file(file: Path, checkpoint: Path) -> Any:
    """A file of `checkpoint` read with weights_only=True (also for `convert`); errors are one line."""
    return _torch_load(file, checkpoint)


def _torch_load(file: Path, checkpoint: Path) -> Any:
    """torch.load with weights_only=True; a refused or unreadable file is one line."""
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except UnpicklingError as e:
        if "unsupported global" in str(e).lower():  # an object that is not a tensor or plain value
            raise InputFileError(f"{checkpoint}: refused, {file.name} holds more than tensors and plain "
                                 "values (loaded with weights_only=True, nothing in it ran); was it written "
                                 "by olmo-green?") from e
        raise InputFileError(f"{file}: not a readable checkpoint file (corrupt); "
                             f"{_instead(checkpoint)}") from e
    # Random bytes that happen to start like a zip or a pickle fail deep inside torch.load
    # with whatever the parser tripped on (KeyError, IndexError, ...): all mean corrupt.
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError, TypeError,
            AttributeError, UnicodeError) as e:
        raise InputFileError(f"{file}: corrupt or truncated checkpoint file ({_first_line(e)}); "
                             f"{_instead(checkpoint)}") from e


def _restore_into(path: Path, state: Any, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
    if not isinstance(state, dict) or "model" not in state or "optim" not in state:
        raise InputFileError(f"{path / 'model_optim.pt'}: holds no model and optimizer state; "
                             f"{_instead(path)}")
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optim"])
    except (RuntimeError, KeyError, ValueError, TypeError) as e:
        raise InputFileError(f"{path}: its weights do not fit this model ({_first_line(e)[:200]}); resume "
                             "with the run's own --model, or start a new run with another --run-dir") from e


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
