"""olmo-green inside OLMo-core (ai2-olmo-core 3.x): an energy Callback and its CallbackConfig.

    from olmo_green.integrations.olmo_core import EnergyCallbackConfig
    trainer_config = trainer_config.with_callback(
        "energy", EnergyCallbackConfig(run_dir="runs/a", hardware="h100", tags={"team": "pretrain"}))

It runs an EnergyMeter and writes the run record `olmo-green train` writes
(config.yaml with the profile and tags, steps.csv with energy, telemetry/,
events.jsonl), so `olmo-green report`, `dashboard` and `model-card` read it
unchanged. Windows (docs/design.md, Measurement), from OLMo-core's hooks:

    pre_load_batch (or pre_step)  a "train" window opens: the next step, data loading included
    post_train_batch              the step ends (tokens, CE loss, LR)
    save_checkpoint(_async)       a "checkpoint" window; for an async save only the part that
                                  blocks training, the write is a `checkpoint_write` event
    perform_eval                  an "eval" window (olmo_core_windows.py wraps both)
    on_error / close              the record closes (no collective after an error)

Host work between two windows (other callbacks, metrics logging) joins the
window that follows. The priority (10) puts this callback before the
checkpointer (1) and the evaluators (0), so a step ends before a save or an
eval of the same step starts, and its loss is read before a save flushes it.

Distributed: OLMo-core's world is torch.distributed's default group; the meter
samples on one process per node and sums over that group, from the main
thread, at points every rank reaches. Metrics (`energy/...`) go through
`Trainer.record_metric` with reduce_type=None (they are already summed), so
OLMo-core's W&B and Comet callbacks log them.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from olmo_green.integrations.requirement import require

OLMO_CORE_VERSION = require("ai2-olmo-core", "olmo_core", extra="olmo-core", majors=range(3, 4))

from olmo_core.distributed.utils import get_world_size  # noqa: E402
from olmo_core.io import is_url  # noqa: E402
from olmo_core.train.callbacks import Callback, CallbackConfig, EvaluatorCallback  # noqa: E402
from olmo_core.train.common import TRAIN_CE_LOSS_METRIC  # noqa: E402

from olmo_green.carbon.accounting import headline_factor  # noqa: E402
from olmo_green.errors import ConfigError  # noqa: E402
from olmo_green.hardware.profiles import HardwareProfile, load_profile  # noqa: E402
from olmo_green.integrations.olmo_core_windows import WindowWrappers  # noqa: E402
from olmo_green.record.options import TelemetryOptions  # noqa: E402
from olmo_green.telemetry.meter import EnergyMeter  # noqa: E402
from olmo_green.telemetry.resumable import ResumableMeter  # noqa: E402
from olmo_green.units import J_PER_KWH  # noqa: E402

LR_METRIC = "optim/LR (group 0)"  # what OLMo-core's TransformerTrainModule records
NEVER = 10**12  # the meter's own sum-over-nodes cadence: this callback owns it
# An idle moment always joins the window that follows it (data loading joins its step, a wait for the
# previous async save joins the save). The meter's default merges only moments under 1 s, a test of
# each rank's own clock: ranks could then close different numbers of windows, and the sum over ranks
# (one all_reduce of one value per window) would mismatch and hang (seen on 2 gloo ranks).
MERGE_IDLE_S = math.inf


@dataclass
class EnergyCallbackConfig(CallbackConfig, TelemetryOptions):
    """Settings of the energy callback; plain values, so OLMo-core can copy and print its config.

    The meter's options are inherited from TelemetryOptions (record/options.py: the names of
    config.yaml's telemetry section and of `olmo-green train --set telemetry.KEY`), so
    `sampling_interval_s` and `sync_interval_steps` keep their meaning here. sync_interval_steps
    None: every step in one process, the trainer's metrics_collect_interval with several (when
    OLMo-core syncs anyway). merge_idle_s is always inf here (MERGE_IDLE_S).
    """

    run_dir: str | None = None  # the run record; default: the trainer's save_folder (a local path)
    hardware: str = "local"  # profile name or a profile YAML file (olmo-green hardware)
    simulate: bool = False  # the profile's modelled devices instead of real sensors
    tags: dict[str, str] = field(default_factory=dict)  # written to config.yaml
    # Reading the step's CE loss waits for the device to finish computing it (one host-device
    # sync per step on a GPU, as olmo-green's own trainer does); False keeps OLMo-core's
    # asynchronous stepping and leaves the loss column empty.
    record_loss: bool = True

    def build(self, trainer: Any) -> EnergyCallback:
        return EnergyCallback(config=self)


@dataclass
class EnergyCallback(ResumableMeter, Callback):
    """OLMo-core saves its state_dict (the meter's totals) in each checkpoint (train/rank<R>.pt)."""

    priority: ClassVar[int] = 10
    config: EnergyCallbackConfig = field(default_factory=EnergyCallbackConfig)

    def __post_init__(self) -> None:
        # Runtime state, not dataclass fields: OLMo-core copies and serialises fields only. The
        # meter (threads, locks) is made in pre_train, so a config deep-copy never meets it.
        self.meter: EnergyMeter | None = None
        self.profile: HardwareProfile | None = None
        self._pending_state: dict | None = None
        self._windows: WindowWrappers | None = None
        self._error = self._in_step = False
        self._tokens_seen = 0
        self._train_s = 0.0  # seconds of this process's train windows so far
        self._recorded = (0, 0.0, 0.0)  # (step, train energy J, train seconds) at the last metrics record
        self._headline: tuple[float, str] | tuple[()] = ()

    # -- attach, state -------------------------------------------------------------------------
    def post_attach(self) -> None:
        self._refuse_duplicate()
        self.profile = load_profile(self.config.hardware)  # a bad name fails at build, not later

    def _refuse_duplicate(self) -> None:
        names = [name for name, cb in self.trainer.callbacks.items() if isinstance(cb, EnergyCallback)]
        if len(names) > 1:
            raise ConfigError(f"the trainer has {len(names)} olmo-green energy callbacks "
                              f"({', '.join(names)}); configure one: each would meter the same devices")

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Called on resume before pre_train."""
        self._hold_state(state_dict)

    # -- run -------------------------------------------------------------------------------------
    def pre_train(self) -> None:
        self._refuse_duplicate()
        trainer, cfg = self.trainer, self.config
        profile = self.profile or load_profile(cfg.hardware)
        run_dir = self._run_dir()
        # The meter's writer rank writes RUN/config.yaml (profile, tags, telemetry settings).
        # This callback sums over nodes itself (post_step), so the meter's own cadence is NEVER.
        options = dataclasses.replace(TelemetryOptions.of(cfg), sync_interval_steps=NEVER,
                                      merge_idle_s=MERGE_IDLE_S)
        self.meter = EnergyMeter(run_dir, profile, simulate=cfg.simulate, tags=cfg.tags, options=options)
        self._resume_meter()
        self.meter.start(step=trainer.global_step, first_phase="idle")
        self._tokens_seen = trainer.global_train_tokens_seen
        self._recorded = (trainer.global_step, self.meter.totals.phase_j.get("train", 0.0), self._train_s)
        self._headline = headline_factor(profile)
        # Evaluators built from a CallbackConfig are attached after post_attach: wrapped here.
        self._windows = WindowWrappers(self.meter, lambda: self.step)
        evaluators = [cb for cb in trainer.callbacks.values() if isinstance(cb, EvaluatorCallback)]
        self._windows.wrap(trainer, evaluators)

    def _run_dir(self) -> Path:
        if self.config.run_dir:
            return Path(self.config.run_dir)
        save_folder = str(self.trainer.save_folder)
        if is_url(save_folder):
            raise ConfigError(f"the trainer saves to {save_folder}, not a local folder: set "
                              "EnergyCallbackConfig(run_dir=...) to a local (shared) directory")
        return Path(save_folder)

    def pre_load_batch(self) -> None:
        self._open_step()

    def pre_step(self, batch: dict[str, Any]) -> None:
        self._open_step()  # a loop that fetched the batch without pre_load_batch

    def _open_step(self) -> None:
        if self.meter is not None and not self._in_step:
            self.meter.begin("train")
            self._in_step = True

    def post_train_batch(self) -> None:
        if self.meter is None:
            return
        tokens = self.trainer.global_train_tokens_seen
        metrics = {"tokens": tokens - self._tokens_seen, "loss": self._loss(), "lr": self._lr()}
        self._tokens_seen = tokens
        window = self.meter.ledger.windows[-1] if self.meter.ledger.windows else None  # the step's
        self.meter.end_step(self.step, metrics)
        if window is not None and window.phase == "train" and window.end_s is not None:
            self._train_s += window.end_s - window.start_s  # the times its energy is summed over
        self._in_step = False

    def _loss(self) -> float | None:
        value = self.trainer.get_metric(TRAIN_CE_LOSS_METRIC) if self.config.record_loss else None
        return None if value is None else float(value)

    def _lr(self) -> float | None:
        """The scheduler's rate as recorded, else the optimizer's first group's (no scheduler)."""
        value = self.trainer.get_metric(LR_METRIC)
        if value is None:
            groups = getattr(getattr(self.trainer.train_module, "optim", None), "param_groups", None)
            value = groups[0].get("lr") if groups else None
        try:
            return None if value is None else float(value)
        except (TypeError, ValueError):
            return None

    def post_step(self) -> None:
        if self.meter is None or self.step % self._sync_interval() != 0:
            return
        self.meter.sync(force=True)  # a collective with several processes: every rank is here
        self._record_metrics()

    def _sync_interval(self) -> int:
        if self.config.sync_interval_steps:
            return max(1, int(self.config.sync_interval_steps))
        return 1 if get_world_size() == 1 else max(1, int(self.trainer.metrics_collect_interval))

    def _record_metrics(self) -> None:
        """Energy figures of the whole run (all nodes), recorded on every rank at the same step."""
        totals, (step, train_j, train_s) = self.meter.totals, self._recorded
        now_train_j = totals.phase_j.get("train", 0.0)
        record = functools.partial(self.trainer.record_metric, reduce_type=None)
        if self.meter.last_step > step:  # mean over the steps since the last record (one, in one process)
            record("energy/step_energy_j", (now_train_j - train_j) / (self.meter.last_step - step))
        if self._train_s > train_s:  # the steps' mean power: their energy over their duration
            record("energy/power_w", (now_train_j - train_j) / (self._train_s - train_s))
        # The latest sensor reading, taken between steps (the devices wait for the next one).
        record("energy/idle_power_w", totals.power_w)
        energy_kwh = totals.run_j / J_PER_KWH
        record("energy/total_energy_kwh", energy_kwh)
        if self._headline:  # PUE x the profile's headline intensity; none where no factor is known
            record("energy/emissions_kg_co2e", energy_kwh * self._headline[0])
        self._recorded = (self.meter.last_step, now_train_j, self._train_s)

    def post_train(self) -> None:
        # A train window a pre_load_batch opened but no step ended (the data ran out) was idle; the
        # checkpointer's final save and the evaluators' eval_on_finish come after this hook.
        if self.meter is not None and self._in_step:
            self.meter.relabel_open_phase("idle")
            self._in_step = False

    def on_error(self, exc: BaseException) -> None:
        self._error = True

    def close(self) -> None:
        try:
            if self.meter is not None:
                self.meter.close(error=self._error)
        finally:
            if self._windows is not None:
                self._windows.unwrap()
