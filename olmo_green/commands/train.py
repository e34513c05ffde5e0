"""`olmo-green train`: train an OLMo model inside the telemetry layer.

This is where the two halves meet (docs/design.md, Layout): the loop in
olmo_green.model knows nothing of energy; `build_callbacks` is the one place
that hands it the telemetry layer's callbacks.
"""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from olmo_green.errors import ConfigError, InputFileError

PREEMPTED_EXIT_CODE = 143  # 128 + SIGTERM: what schedulers expect from a job stopped by SIGTERM
INTERRUPTED_EXIT_CODE = 130  # 128 + SIGINT: Ctrl-C, handled like SIGTERM
STOP_MESSAGES = {"preempted": "preempted by SIGTERM", "interrupted": "interrupted (SIGINT)"}
EXIT_CODES = {"preempted": PREEMPTED_EXIT_CODE, "interrupted": INTERRUPTED_EXIT_CODE}


@click.command()
@click.option("--model", "model_name", default=None,
              help="Preset (tiny, small, olmo-1b, olmo-7b, olmo2-tiny, olmo2-1b/7b/13b/32b, olmo3-tiny, "
                   "olmo3-7b/32b) or a model YAML file.  [default: tiny]")
@click.option("--hardware", default=None,
              help="Hardware profile (lumi, mosaicml-a100, h100, local) or a profile YAML file.  "
                   "[default: local]")
@click.option("--data", "data_paths", multiple=True, type=click.Path(),
              help="Token memmap (input_ids.npy) or folder; repeat for several. Default: built-in corpus.")
@click.option("--run-dir", type=click.Path(file_okay=False), help="Run directory to write (or resume).")
@click.option("--max-steps", type=int, help="Train up to this optimizer step.")
@click.option("--save-interval", type=int, help="Save a checkpoint every N steps (and at the end).")
@click.option("--resume", is_flag=True, help="Continue the run in --run-dir from its last checkpoint.")
@click.option("--resume-from", metavar="CHECKPOINT",
              help="Continue the run in --run-dir from this checkpoint (e.g. step000005) instead of the "
                   "last one; implies --resume.")
@click.option("--simulate", is_flag=True, help="Use the profile's modelled devices instead of real sensors.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a configuration value by dotted key, e.g. --set optim.lr=3e-4.")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE",
              help="Tag the run (repeatable), e.g. --tag stage=development; saved in config.yaml; "
                   "`report --by KEY` rolls runs up by it.")
@click.pass_context
def command(ctx: click.Context, **options: Any) -> None:
    """Train an OLMo model while measuring the energy its accelerators draw.

    Ctrl-C (SIGINT) and SIGTERM finish the step in flight, save a checkpoint,
    close the records and exit (130 and 143); continue with --resume.
    """
    status = run_training(**options)
    if status in EXIT_CODES:
        click.echo(f"olmo-green: {STOP_MESSAGES[status]}; checkpoint saved, continue with --resume", err=True)
        ctx.exit(EXIT_CODES[status])


def resolve_config(model_name: str | None, hardware: str | None, data_paths: tuple[str, ...],
                   run_dir: str | None, max_steps: int | None, save_interval: int | None,
                   resume: bool, simulate: bool, overrides: tuple[str, ...], resume_from: str | None = None,
                   tags: tuple[str, ...] = ()):
    """The run's TrainConfig: defaults (or the resumed run's config.yaml), then flags, then --set."""
    from olmo_green.config import TrainConfig, apply_overrides, check_tags, parse_tags, refuse_cli_owned
    from olmo_green.model.distributed import read_env
    from olmo_green.record import CONFIG_FILE, RunConfig

    refuse_cli_owned(overrides)  # --set run_dir=... would win over --run-dir
    new_tags = parse_tags(tags)  # a malformed --tag fails before any file is read
    if resume or resume_from:
        if not run_dir:
            raise ConfigError(f"{'--resume-from' if resume_from else '--resume'} needs --run-dir "
                              "(the run to continue)")
        recorded = RunConfig.load(run_dir)
        if recorded is None:
            raise InputFileError(f"{run_dir} holds no {CONFIG_FILE} to resume; check --run-dir")
        config = recorded.train
    else:
        config = TrainConfig()
    if run_dir is None and read_env().is_distributed:
        raise ConfigError("pass --run-dir when launching several processes, so all ranks share one run")
    flags = {"model.name": model_name, "hardware": hardware, "max_steps": max_steps,
             "save_interval": save_interval, "simulate": simulate or None,
             "data.paths": list(data_paths) or None,
             "run_dir": run_dir or config.run_dir or f"runs/{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"}
    pairs = [f"{k}={_yaml_value(v)}" for k, v in flags.items() if v is not None]
    resolved = apply_overrides(config, pairs + list(overrides))
    resolved.tags = check_tags({**resolved.tags, **new_tags})  # a resume keeps its tags; --tag adds to them
    if (resume or resume_from) and resolved.hardware != config.hardware:
        # The record holds one profile: a resume under another would re-label the whole run.
        raise ConfigError(f"{run_dir} was trained on hardware {config.hardware!r}; a resume keeps it "
                          f"(drop --hardware {resolved.hardware}), or start a new run with another --run-dir")
    return resolved


def _yaml_value(value: Any) -> str:
    import json

    return json.dumps(value)  # JSON is YAML: lists, strings with colons and paths survive


def build_callbacks(config, profile) -> list:
    """The hook point: the callbacks the loop calls, in order.

    The energy meter comes first, so its windows hug the loop's work; it writes
    steps.csv (with energy_j), so no other callback writes step rows.
    """
    from olmo_green.telemetry.callback import EnergyCallback

    # config.telemetry is the meter's options type itself (record/options.py): no mapping by hand.
    # Live outputs (telemetry/live.py): trackers from the log section, the forecast from max_steps.
    meter = EnergyCallback(hardware=profile, simulate=config.simulate, options=config.telemetry,
                           trackers=config.log.names(), max_steps=config.max_steps)
    return [meter]


def run_training(**options: Any) -> str:
    """Build the run and train it; returns "completed", "preempted" (SIGTERM) or "interrupted" (SIGINT).

    Every check that can refuse the run (configuration, profile, model, data, the run
    directory and its lock, the checkpoint to resume from) runs before anything is
    written: a refused command leaves the disk as it was.
    """
    from olmo_green import runlock
    from olmo_green.hardware import load_profile
    from olmo_green.model.build import build_parts, model_config
    from olmo_green.model.distributed import device_for, init_distributed, read_env, shutdown
    from olmo_green.model.efficiency import compile_wanted
    from olmo_green.model.trainer import Trainer

    options.setdefault("resume_from", None)
    resume = bool(options["resume"] or options["resume_from"])
    config = resolve_config(**options)
    _check_batch(config.batch, read_env().world_size)
    from olmo_green.telemetry.trackers import require_trackers

    require_trackers(config.log.names())  # a missing tracker library: one line, nothing written
    profile = load_profile(config.hardware)
    model_cfg = model_config(config.model.name)
    _check_data(config, model_cfg)
    run_dir = Path(config.run_dir)
    env = read_env()
    if env.is_main:
        runlock.check_can_write(run_dir, resume)  # another train holds it, or a fresh run into a used one
    checkpoint = _checkpoint_to_resume(run_dir, options["resume_from"]) if resume else None
    if checkpoint is not None and config.max_steps <= _step_of(checkpoint):
        raise ConfigError(f"{checkpoint.name} is at step {_step_of(checkpoint)} and max_steps is "
                          f"{config.max_steps}: nothing to train; pass a larger --max-steps")
    lock, created = None, False
    if env.is_main:
        created = not run_dir.exists()
        lock = runlock.acquire(run_dir)
    device = device_for(env)
    # config.yaml records what ran: compile's default (on for GPUs) resolved for this device
    config.model.compile = compile_wanted(config.model.compile, device)
    init_distributed(env, device)
    ended = None
    try:
        try:
            callbacks = build_callbacks(config, profile)
            peak = profile.peak_flops_per_device if device.type != "cpu" else None
            trainer = Trainer(build_parts(config, run_dir, device, env, callbacks, peak))
            if checkpoint is not None:
                _restore(trainer, checkpoint)
        except BaseException:
            if env.is_main and created:
                _remove_new_run_dir(run_dir, lock)
            raise
        if env.is_main:
            _save_config(config, run_dir, model_cfg, profile)
        with _sigint_stops(trainer) as stopped_by:
            status = trainer.fit()
        if status == "preempted" and stopped_by.get("signal") == "SIGINT":
            status = "interrupted"
        # Not after a preemption: SLURM's grace period is short, and a long run's report can take
        # longer than it; `olmo-green report RUN` writes it later.
        if env.is_main and status == "completed":
            write_outputs(run_dir)  # before teardown: no rank ends before the report is written
        ended = status
        return status
    finally:
        if lock is not None:
            lock.release()
        # The model's FSDP state holds collective work objects: drop it while the group lives, so
        # they are freed by shutdown's gc, not during interpreter finalisation (which aborts).
        trainer = callbacks = None  # noqa: F841
        shutdown(completed=ended is not None)  # join threads, barrier (all ranks ended), destroy


def _check_batch(batch, world_size: int) -> None:
    """The global batch splits into whole micro-batches on every rank; if not, one line that
    names the --set that fixes it (the largest micro-batch that fits, or a global batch)."""
    per_rank, rest = divmod(batch.global_batch_size, world_size)
    if not rest and per_rank % batch.micro_batch_size == 0:
        return
    step = world_size * batch.micro_batch_size
    larger = -(-batch.global_batch_size // step) * step  # the next multiple
    fixes = f"--set batch.global_batch_size={larger}"
    if not rest:
        fit = max(d for d in range(1, batch.micro_batch_size + 1) if per_rank % d == 0)
        fixes = f"--set batch.micro_batch_size={fit} (or {fixes})"
    raise ConfigError(f"batch.global_batch_size ({batch.global_batch_size}) must be a multiple of world size "
                      f"({world_size}) x batch.micro_batch_size ({batch.micro_batch_size}) = {step}; "
                      f"pass {fixes}")


def _check_data(config, model_cfg) -> None:
    """Token files exist, fit their dtype and hold no id beyond the model's vocabulary."""
    import numpy as np

    from olmo_green.model.data import check_token_ids, resolve_paths, token_dtype

    dtype = token_dtype(model_cfg.vocab_size) if config.data.dtype == "auto" else np.dtype(config.data.dtype)
    for paths in (config.data.paths, config.data.eval_paths):
        if paths:
            check_token_ids(resolve_paths(paths), dtype, model_cfg.vocab_size)


def _checkpoint_to_resume(run_dir: Path, name: str | None) -> Path:
    """The checkpoint a resume starts from: --resume-from's, else the last complete one."""
    from olmo_green.model import checkpoint as ckpt
    from olmo_green.record import CHECKPOINTS_DIR

    folder = run_dir / CHECKPOINTS_DIR
    complete = ckpt.complete_checkpoints(folder)
    if name is not None:
        chosen = folder / Path(name).name
        if chosen not in complete:
            have = ", ".join(p.name for p in complete) or "none"
            raise InputFileError(f"no complete checkpoint {Path(name).name!r} in {folder} (have: {have})")
        return chosen
    latest = ckpt.latest_checkpoint(folder)
    if latest is None:
        raise InputFileError(f"{run_dir} has no complete checkpoint to resume from (the run stopped before "
                             "its first save); start again with another --run-dir")
    return latest


def _step_of(checkpoint: Path) -> int:
    return int(checkpoint.name.removeprefix("step"))


def _save_config(config, run_dir: Path, model_cfg, profile) -> None:
    from olmo_green.record import RunConfig
    from olmo_green.record.config import kept_run_id

    # atomic; a failure is one line. A resume rewrites the file and keeps the run's id.
    RunConfig.for_training(config, model_cfg.to_dict(), dataclasses.asdict(profile),
                           kept_run_id(run_dir)).save(run_dir)


def _remove_new_run_dir(run_dir: Path, lock) -> None:
    """Undo a run directory this process created, when the run failed before training began:
    a refused command leaves nothing behind. Only the files setup writes are removed."""
    lock.release()
    for path in [run_dir / ".lock", *run_dir.glob("data_order.*.npy")]:
        path.unlink(missing_ok=True)
    try:
        run_dir.rmdir()
    except OSError:
        pass  # something else is in it now: leave it


@contextlib.contextmanager
def _sigint_stops(trainer):
    """Ctrl-C stops training like SIGTERM does: the step in flight finishes, then the loop saves,
    closes the records and returns. A second Ctrl-C interrupts at once."""
    import signal
    import threading

    stopped_by: dict[str, str] = {}
    if threading.current_thread() is not threading.main_thread():
        yield stopped_by
        return

    def on_sigint(signum: int, frame: Any) -> None:
        stopped_by["signal"] = "SIGINT"
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C is a hard stop
        signal.raise_signal(signal.SIGTERM)  # the trainer's own handler: finish, save, close

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield stopped_by
    finally:
        signal.signal(signal.SIGINT, previous)


def write_outputs(run_dir: Path) -> None:
    """RUN/report.{md,json} and RUN/dashboard.html, and where they are; a failure is one line."""
    from olmo_green.dashboards import write_run_dashboard
    from olmo_green.errors import GreenError
    from olmo_green.reports import write_report_files

    try:
        written = [*write_report_files(run_dir), write_run_dashboard(run_dir)]
    except (GreenError, OSError) as e:  # the training itself succeeded: say why there is no report
        click.echo(f"olmo-green: training done, but no report ({e}); retry with `olmo-green report "
                   f"{run_dir}`", err=True)
        return
    click.echo("olmo-green: training done; " + ", ".join(str(p) for p in written))


def _restore(trainer, checkpoint: Path) -> None:
    """Load a checkpoint into the trainer; a refused or unreadable one is one line
    (model/checkpoint.py names it and the checkpoint before it)."""
    trainer.restore(checkpoint)
