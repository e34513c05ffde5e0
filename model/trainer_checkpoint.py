"""The trainer's own checkpoints, read for export (`convert olmo-to-hf`), on CPU, with no process group.

What model/checkpoint.py (and checkpoint_async.py, same layout) writes:

    RUN/config.yaml                       resolved_model: the model's configuration
    RUN/checkpoints/latest                name of the last complete checkpoint
    RUN/checkpoints/stepNNNNNN/model_optim.pt   one process: {"model": ..., "optim": ...}
    RUN/checkpoints/stepNNNNNN/sharded/         several: torch.distributed.checkpoint (DCP)
    RUN/checkpoints/stepNNNNNN/rankR.pt         trainer state per rank (not needed here)
    RUN/checkpoints/stepNNNNNN.partial/         a save in progress, or one a crash cut short

Only the model's weights are read: the optimizer state (present or not) is never loaded.
DCP shards are read with `dcp.load(..., no_dist=True)`, which PyTorch documents for loading
a distributed checkpoint "without having a process group initialized" (state_dict_loader);
the tensors to fill are sized from the checkpoint's own metadata (FileSystemReader).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from olmo_green import record as rr
from olmo_green.errors import InputFileError
from olmo_green.model.checkpoint import (
    LATEST,
    MODEL_OPTIM_FILE,
    PARTIAL,
    complete_checkpoints,
    latest_checkpoint,
)
from olmo_green.model.config import OLMoConfig, load_model_config
from olmo_green.model.interop_common import make_config

SHARDED = "sharded"
DCP_METADATA = ".metadata"  # written last by DCP: without it the save did not finish
CHECKPOINTS = "checkpoints"
MODEL_PREFIX = "model."  # DCP flattens {"model": {name: tensor}} to "model.<name>"


@dataclass(frozen=True)
class TrainerCheckpoint:
    path: Path  # the stepNNNNNN folder
    run_dir: Path | None  # the run it belongs to, where the layout says so
    chosen: str  # how it was picked, for the command's output


def is_trainer_checkpoint(path: Path) -> bool:
    """A checkpoint folder as the trainer writes it (complete or not), or a run folder holding some."""
    if not path.is_dir():
        return False
    names = {p.name for p in path.iterdir()}
    return bool(names & {MODEL_OPTIM_FILE, SHARDED, CHECKPOINTS}) or path.name.endswith(PARTIAL) \
        or any(n.startswith("rank") and n.endswith(".pt") for n in names)


def locate(path: Path) -> TrainerCheckpoint:
    """The checkpoint a path names: itself, or a run directory's latest complete one."""
    folder = path / CHECKPOINTS
    if folder.is_dir():
        chosen = latest_checkpoint(folder)
        if chosen is not None:
            return TrainerCheckpoint(chosen, path, f"{chosen}, the latest checkpoint of run {path} "
                                                   f"(from {CHECKPOINTS}/{LATEST})")
        done = complete_checkpoints(folder)  # no pointer (copied without it): the newest published step
        if not done:
            raise InputFileError(f"run {path} has no complete checkpoint in {folder}; "
                                 "train until a save (save_interval) or pass a checkpoint folder")
        return TrainerCheckpoint(done[-1], path, f"{done[-1]}, the newest complete checkpoint of run "
                                                 f"{path} (no {CHECKPOINTS}/{LATEST})")
    run_dir = path.parent.parent if path.parent.name == CHECKPOINTS else None
    return TrainerCheckpoint(path, run_dir, f"checkpoint {path}")


def read_trainer_checkpoint(found: TrainerCheckpoint, model: str | None = None
                            ) -> tuple[OLMoConfig, dict[str, torch.Tensor]]:
    """The configuration (the run's config.yaml, or `model`: a preset or YAML) and the weights."""
    path = found.path
    if path.name.endswith(PARTIAL):
        raise InputFileError(f"{path} is a checkpoint still being written, or cut short by a crash "
                             f"({PARTIAL}); convert a complete one, e.g. the run's `{LATEST}`")
    config = _config(found, model)
    if (path / MODEL_OPTIM_FILE).is_file():
        state = _single_process_model(path / MODEL_OPTIM_FILE)
    elif (path / SHARDED).is_dir():
        state = _sharded_model(path / SHARDED)
    else:
        raise InputFileError(f"{path} is incomplete: neither {MODEL_OPTIM_FILE} nor {SHARDED}/; "
                             "convert another checkpoint of the run")
    return config, state


# --- configuration ---------------------------------------------------------------


def _config(found: TrainerCheckpoint, model: str | None) -> OLMoConfig:
    if model is not None:
        return load_model_config(model)
    # the run's config.yaml is read by the record's one reader (one-line errors naming the file)
    run = rr.RunConfig.load(found.run_dir) if found.run_dir is not None else None
    config_file = found.run_dir / rr.CONFIG_FILE if found.run_dir is not None else None
    if run is None:
        where = config_file or f"{found.path}/../../{rr.CONFIG_FILE}"
        raise InputFileError(f"{found.path}: no run configuration at {where} to tell the model; "
                             "pass --model PRESET_OR_YAML (the model it was trained as)")
    if isinstance(run.resolved_model, dict):
        return make_config(run.resolved_model, f"{config_file} resolved_model")
    if run.has("model.name"):
        return load_model_config(run.train.model.name)
    raise InputFileError(f"{config_file} has no resolved_model section; pass --model PRESET_OR_YAML")


# --- weights ---------------------------------------------------------------------


def _single_process_model(file: Path) -> dict[str, torch.Tensor]:
    from olmo_green.model.checkpoint import read_checkpoint_file  # the trainer's own one-line errors

    state = read_checkpoint_file(file, file.parent)
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        return state["model"]
    raise InputFileError(f"{file}: holds no model state (a dict with a `model` key); "
                         "not a checkpoint written by olmo-green train")


def _sharded_model(folder: Path) -> dict[str, torch.Tensor]:
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.metadata import TensorStorageMetadata

    if not (folder / DCP_METADATA).is_file():
        raise InputFileError(f"{folder} has no {DCP_METADATA}: the sharded save did not finish; "
                             "convert another checkpoint of the run")
    reader = dcp.FileSystemReader(str(folder))
    try:
        metadata = reader.read_metadata()
    except Exception as e:  # a torn or foreign file: DCP raises whatever unpickling raised
        raise InputFileError(f"{folder / DCP_METADATA}: unreadable ({_first_line(e)})") from e
    model = {key.removeprefix(MODEL_PREFIX): item for key, item in metadata.state_dict_metadata.items()
             if key.startswith(MODEL_PREFIX) and isinstance(item, TensorStorageMetadata)}
    if not model:
        raise InputFileError(f"{folder}: no model weights in the sharded checkpoint")
    state = {name: torch.empty(item.size, dtype=item.properties.dtype) for name, item in model.items()}
    try:
        with warnings.catch_warnings():  # "assuming the intent is to load in a single process": it is
            warnings.simplefilter("ignore", UserWarning)
            dcp.load({"model": state}, storage_reader=reader, no_dist=True)
    except Exception as e:  # a missing or truncated shard file
        raise InputFileError(f"{folder}: a shard cannot be read ({_first_line(e)[:200]}); "
                             "the checkpoint is incomplete: convert another") from e
    return state


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
