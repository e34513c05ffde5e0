"""`olmo-green train`: train an OLMo model inside the telemetry layer.

This is where the two halves meet (docs/design.md, Layout): the loop in
olmo_green.model knows nothing of energy; `build_callbacks` is the one place
that hands it the telemetry layer's callbacks.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from olmo_green.errors import ConfigError, InputFileError

PREEMPTED_EXIT_CODE = 143  # 128 + SIGTERM: what schedulers expect from a job stopped by SIGTERM


@click.command()
@click.option("--model", "model_name", default=None,
              help="Preset (tiny, small, olmo-1b, olmo-7b) or a model YAML file.  [default: tiny]")
@click.option("--hardware", default=None,
              help="Hardware profile (lumi, mosaicml-a100, h100, local) or a profile YAML file.  "
                   "[default: local]")
@click.option("--data", "data_paths", multiple=True, type=click.Path(),
              help="Token memmap (input_ids.npy) or folder; repeat for several. Default: built-in corpus.")
@click.option("--run-dir", type=click.Path(file_okay=False), help="Run directory to write (or resume).")
@click.option("--max-steps", type=int, help="Train up to this optimizer step.")
@click.option("--save-interval", type=int, help="Save a checkpoint every N steps (and at the end).")
@click.option("--resume", is_flag=True, help="Continue the run in --run-dir from its last checkpoint.")
@click.option("--simulate", is_flag=True, help="Use the profile's modelled devices instead of real sensors.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a configuration value by dotted key, e.g. --set optim.lr=3e-4.")
@click.pass_context
def command(ctx: click.Context, **options: Any) -> None:
    """Train an OLMo model while measuring the energy its accelerators draw."""
    status = run_training(**options)
    if status == "preempted":
        click.echo("olmo-green: preempted by SIGTERM; checkpoint saved, continue with --resume", err=True)
        ctx.exit(PREEMPTED_EXIT_CODE)


def resolve_config(model_name: str | None, hardware: str | None, data_paths: tuple[str, ...],
                   run_dir: str | None, max_steps: int | None, save_interval: int | None,
                   resume: bool, simulate: bool, overrides: tuple[str, ...]):
    """The run's TrainConfig: defaults (or the resumed run's config.yaml), then flags, then --set."""
    from olmo_green.config import TrainConfig, apply_overrides, load_config
    from olmo_green.model.distributed import read_env
    from olmo_green.runrecord import CONFIG_FILE

    if resume:
        if not run_dir:
            raise ConfigError("--resume needs --run-dir (the run to continue)")
        if not (Path(run_dir) / CONFIG_FILE).exists():
            raise InputFileError(f"{run_dir} holds no {CONFIG_FILE} to resume; check --run-dir")
        config = load_config(Path(run_dir) / CONFIG_FILE)
    else:
        config = TrainConfig()
    if run_dir is None and read_env().is_distributed:
        raise ConfigError("pass --run-dir when launching several processes, so all ranks share one run")
    flags = {"model.name": model_name, "hardware": hardware, "max_steps": max_steps,
             "save_interval": save_interval, "simulate": simulate or None,
             "data.paths": list(data_paths) or None,
             "run_dir": run_dir or config.run_dir or f"runs/{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"}
    pairs = [f"{k}={_yaml_value(v)}" for k, v in flags.items() if v is not None]
    return apply_overrides(config, pairs + list(overrides))


def _yaml_value(value: Any) -> str:
    import json

    return json.dumps(value)  # JSON is YAML: lists, strings with colons and paths survive


def build_callbacks(config, profile) -> list:
    """The hook point: the callbacks the loop calls, in order.

    The energy meter comes first, so its windows hug the loop's work; it writes
    steps.csv (with energy_j), so no other callback writes step rows.
    """
    from olmo_green.telemetry.callback import EnergyCallback

    meter = EnergyCallback(hardware=profile, simulate=config.simulate,
                           interval_s=config.telemetry.sampling_interval_s,
                           summary_bucket_s=config.telemetry.summary_bucket_s)
    return [meter]


def run_training(**options: Any) -> str:
    """Build the run and train it; returns "completed" or "preempted"."""
    from olmo_green.config import save_config
    from olmo_green.hardware import load_profile
    from olmo_green.model import checkpoint as ckpt
    from olmo_green.model.build import build_parts, model_config
    from olmo_green.model.distributed import device_for, init_distributed, read_env, shutdown
    from olmo_green.model.trainer import Trainer
    from olmo_green.runrecord import CONFIG_FILE

    config = resolve_config(**options)
    profile = load_profile(config.hardware)
    run_dir = Path(config.run_dir)
    env = read_env()
    device = device_for(env)
    init_distributed(env, device)
    try:
        _check_fresh_or_resumable(run_dir, options["resume"])
        if env.is_main:
            _make_run_dir(run_dir)
            save_config(config, run_dir / CONFIG_FILE, resolved={
                "model": model_config(config.model.name).to_dict(),
                "hardware": dataclasses.asdict(profile)})
        callbacks = build_callbacks(config, profile)
        peak = profile.peak_flops_per_device if device.type != "cpu" else None
        parts = build_parts(config, run_dir, device, env, callbacks, peak)
        trainer = Trainer(parts)
        if options["resume"]:
            latest = ckpt.latest_checkpoint(run_dir / "checkpoints")
            if latest is None:
                raise InputFileError(f"{run_dir} has no complete checkpoint to resume from")
            _restore(trainer, latest)
        status = trainer.fit()
        # Not after a preemption: SLURM's grace period is short, and a long run's report can take
        # longer than it; `olmo-green report RUN` writes it later.
        if env.is_main and status == "completed":
            write_outputs(run_dir)
        return status
    finally:
        shutdown()


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
    from pickle import UnpicklingError  # only its error: torch raises it for a refused checkpoint

    try:
        trainer.restore(checkpoint)
    except UnpicklingError as e:  # weights_only=True met an object that is not a tensor or plain value
        raise InputFileError(f"{checkpoint}: refused, it holds more than tensors and plain values "
                             "(loaded with weights_only=True, nothing in it ran); was it written by "
                             "olmo-green?") from e


def _make_run_dir(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # read-only, no permission, a file in the way: the user's to fix, one line
        raise InputFileError(f"cannot create the run directory {run_dir} ({e.strerror or e}); "
                             "pass a writable --run-dir") from e


def _check_fresh_or_resumable(run_dir: Path, resume: bool) -> None:
    from olmo_green.model import checkpoint as ckpt

    if not resume and ckpt.latest_checkpoint(run_dir / "checkpoints") is not None:
        raise ConfigError(f"{run_dir} already holds a run; pass --resume to continue it, "
                          "or another --run-dir")
