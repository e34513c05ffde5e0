"""Experiment trackers: TensorBoard, MLflow and W&B, fed by the meter with each step's figures.

Each tracker gets, per optimizer step, `loss`, `lr`, `energy/step_j` (the step's GPU energy,
all nodes), `energy/power_w` (that energy over the step's duration), `energy/total_kwh` (the
run's GPU energy so far) and `energy/emissions_kg_co2e` (that x PUE x the headline intensity,
where one is known). Values arrive when the meter records a step's window, which may be a few
steps after the step itself; each carries its own step number.

The libraries are optional extras, imported only when a tracker is opened; a missing one is
refused before training with one line naming the extra. Nothing here contacts the network
unless the user configured a tracker that does (an MLFLOW_TRACKING_URI on a server, or W&B
online): TensorBoard writes files, MLflow writes a local store by default, and MLflow's own
usage telemetry is turned off.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import time
from pathlib import Path

from olmo_green.errors import ConfigError

log = logging.getLogger(__name__)

# tracker -> (module that must import, the extra that installs it)
LIBRARIES = {"tensorboard": ("tensorboard", "tensorboard"), "mlflow": ("mlflow", "mlflow"),
             "wandb": ("wandb", "wandb")}
EXPERIMENT = "olmo-green"  # MLflow experiment and W&B project, unless the user's environment says


def require_trackers(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The trackers asked for, refused with one line if unknown or if their library is missing."""
    for name in names:
        if name not in LIBRARIES:
            raise ConfigError(f"unknown tracker {name!r}; known: {', '.join(LIBRARIES)}")
        module, extra = LIBRARIES[name]
        if not _importable(module):
            raise ConfigError(f"log.{name} needs the {module} library: pip install 'olmo-green[{extra}]'")
    return tuple(names)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules
        return False


def open_trackers(names: tuple[str, ...], run_dir: Path, params: dict[str, str]) -> list:
    """Open each tracker; one that fails to open is a warning, and the run goes on without it."""
    trackers = []
    for name in names:
        try:
            trackers.append(OPENERS[name](Path(run_dir), params))
        except Exception as e:
            log.warning("log.%s: could not start (%s); training continues without it", name, e)
    return trackers


class TensorBoardTracker:
    """Scalars in RUN/tensorboard/ (torch's SummaryWriter; needs the tensorboard package)."""

    def __init__(self, run_dir: Path, params: dict[str, str]) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"))
        self.writer.add_text("olmo-green/run", ", ".join(f"{k}={v}" for k, v in params.items()))

    def log(self, step: int, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.writer.add_scalar(key, value, global_step=step)

    def close(self) -> None:
        self.writer.close()


class MLflowTracker:
    """A run in RUN/mlruns/ (a local file store), or wherever MLFLOW_TRACKING_URI points."""

    def __init__(self, run_dir: Path, params: dict[str, str]) -> None:
        # Before the import: MLflow reads these when it loads. Its usage telemetry calls home;
        # its file store is refused unless allowed (MLflow 3 prefers a database).
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        from mlflow.tracking import MlflowClient

        uri = os.environ.get("MLFLOW_TRACKING_URI") or (run_dir / "mlruns").resolve().as_uri()
        self.client = MlflowClient(tracking_uri=uri)
        experiment = self.client.get_experiment_by_name(EXPERIMENT)
        experiment_id = (experiment.experiment_id if experiment is not None
                         else self.client.create_experiment(EXPERIMENT))
        self.run_id = self.client.create_run(experiment_id, run_name=run_dir.resolve().name).info.run_id
        self.client.log_batch(self.run_id, params=_mlflow_params(params))

    def log(self, step: int, values: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now_ms = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, v, now_ms, step) for k, v in values.items()])

    def close(self) -> None:
        self.client.set_terminated(self.run_id)


def _mlflow_params(params: dict[str, str]) -> list:
    from mlflow.entities import Param

    return [Param(k, v) for k, v in params.items()]


class WandbTracker:
    """A W&B run written under RUN/wandb/; WANDB_MODE=offline keeps it on disk (`wandb sync` later)."""

    def __init__(self, run_dir: Path, params: dict[str, str]) -> None:
        import wandb

        self.run = wandb.init(project=os.environ.get("WANDB_PROJECT", EXPERIMENT), dir=str(run_dir),
                              name=run_dir.resolve().name, config=params)

    def log(self, step: int, values: dict[str, float]) -> None:
        self.run.log(values, step=step)

    def close(self) -> None:
        self.run.finish()


OPENERS = {"tensorboard": TensorBoardTracker, "mlflow": MLflowTracker, "wandb": WandbTracker}
