"""Checkpoints: atomic saves, and everything a resume needs to continue bitwise.

    RUN/checkpoints/step000100/model_optim.pt   one process: model + optimizer (torch.save)
    RUN/checkpoints/step000100/sharded/         several: the same through torch.distributed.checkpoint
    RUN/checkpoints/step000100/rank0.pt         per rank: trainer state, RNG states, callbacks' state
    RUN/checkpoints/latest                      name of the last complete checkpoint

Atomicity: a checkpoint is written into `<name>.partial/` and renamed only when
every rank has finished; `latest` is replaced (tmp + rename) after that. A crash
mid-save leaves a `.partial` folder that the next save removes, and `latest`
still names the last good checkpoint. Loading uses weights_only=True.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from olmo_green.errors import InputFileError
from olmo_green.model.distributed import barrier

LATEST = "latest"
PARTIAL = ".partial"


def step_name(step: int) -> str:
    return f"step{step:06d}"


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


def _model_optim_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
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
    final = folder / step_name(step)
    partial = folder / (final.name + PARTIAL)
    if rank == 0:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(partial, ignore_errors=True)  # debris of a crashed save
        partial.mkdir()
    barrier()
    _write_payload(partial, rank, model, optimizer, rank_state)
    barrier()
    if rank == 0:
        _publish(folder, partial, final, keep)
    barrier()
    return final


def _write_payload(partial: Path, rank: int, model, optimizer, rank_state: dict[str, Any]) -> None:
    state = _model_optim_state(model, optimizer)
    if dist.is_initialized():
        import torch.distributed.checkpoint as dcp

        dcp.save(state, checkpoint_id=str(partial / "sharded"))
    else:
        torch.save(state, partial / "model_optim.pt")
    torch.save({**rank_state, "rng": rng_state()}, partial / f"rank{rank}.pt")


def _publish(folder: Path, partial: Path, final: Path, keep: int) -> None:
    """Rename the finished save into place, then point `latest` at it."""
    if final.exists():  # the same step saved again (a resume that ends where it began)
        old = final.with_name(final.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
        partial.rename(final)
        shutil.rmtree(old)
    else:
        partial.rename(final)
    tmp = folder / (LATEST + ".tmp")
    tmp.write_text(final.name + "\n", encoding="utf-8")
    tmp.replace(folder / LATEST)
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
    if not pointer.exists():
        return None
    path = folder / pointer.read_text(encoding="utf-8").strip()
    return path if path.is_dir() else None


def load_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore model, optimizer and RNG states in place; return this rank's saved state."""
    rank = dist.get_rank() if dist.is_initialized() else 0
    rank_file = path / f"rank{rank}.pt"
    if not rank_file.exists():
        raise InputFileError(f"{path} has no state for rank {rank}; "
                             "resume with the world size it was saved with")
    if dist.is_initialized():
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import set_state_dict

        state = _model_optim_state(model, optimizer)
        dcp.load(state, checkpoint_id=str(path / "sharded"))
        set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"])
    else:
        if not (path / "model_optim.pt").exists():
            raise InputFileError(f"{path} holds sharded state from several processes; "
                                 "resume with the world size it was saved with")
        state = torch.load(path / "model_optim.pt", map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optim"])
    rank_state = torch.load(rank_file, map_location="cpu", weights_only=True)
    set_rng_state(rank_state.pop("rng"))
    return rank_state
