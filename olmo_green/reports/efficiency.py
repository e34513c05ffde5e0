"""How efficiently a run trained: tokens per kWh, and on GPUs its model FLOPs utilisation (MFU).

For a given model and token count the greenest run is the fastest one: energy per token
falls as MFU rises. The trainer writes each train row's MFU into steps.csv (`mfu`,
record.window_mfu: the trainer's formula, model/metrics.py, over the row's own window);
the run's MFU is their mean weighted by each row's train seconds, which is

    MFU = train tokens x FLOPs per token / train seconds / (peak FLOP/s per device x devices)

over the run's current (not superseded) train rows. It is None (null in JSON), with the
reason in `RunAccount.mfu_note`, where it cannot be known: no peak in the profile, modelled
or replayed energy (a simulated run ran on no such GPU), or train rows without `mfu` (a
record from before the column, or a loop other than `olmo-green train`). An `mfu` that
fails checks.py's "mfu" rule (an edited 47, nan, inf, text) is never averaged: it is named;
so is a plausible cell that disagrees with its row's tokens and window (crosscheck/mfu.py).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from olmo_green import checks
from olmo_green.crosscheck.mfu import mfu_findings
from olmo_green.errors import ConfigError, GreenError
from olmo_green.hardware import HardwareProfile
from olmo_green.record import RunConfig
from olmo_green.reports.account import RunAccount

if TYPE_CHECKING:
    from olmo_green.model.config import OLMoConfig

MEASURED_METHODS = ("counter", "power_integration")


def _trained(run_dir: str | Path) -> tuple[RunConfig, OLMoConfig | None, int | None] | None:
    """config.yaml, the model it records (OLMoConfig) and the sequence length the trainer used
    (model.sequence_length, else the model's maximum), the model and length None where the file
    holds no model; None where there is no file or it cannot be read (its readers name it: the
    checks that ask here stand aside)."""
    from olmo_green.model.config import OLMoConfig  # torch-free

    try:
        config = RunConfig.load(run_dir)
    except GreenError:
        return None
    if config is None:
        return None
    try:
        model = OLMoConfig.from_dict(config.resolved_model) if config.resolved_model else None
        sequence = config.train.model.sequence_length or (model.max_sequence_length if model else None)
        return config, model, int(sequence) if sequence else None
    except (GreenError, TypeError, ValueError, AttributeError):
        return config, None, None


def record_flops_per_peak(run_dir: str | Path) -> float | None:
    """FLOPs per token over peak FLOP/s per device for the model, sequence length and profile
    config.yaml records (what the trainer's mfu used: model/trainer.py), or None where it records
    no model or peak (a loop of the user's own, an older record) or they cannot be read."""
    from olmo_green.model.metrics import flops_per_token

    trained = _trained(run_dir)
    if trained is None or trained[1] is None or not trained[2]:
        return None
    config, model, sequence = trained
    peak = config.resolved_hardware.get("peak_flops_per_device") \
        if isinstance(config.resolved_hardware, dict) else None
    if not isinstance(peak, int | float) or isinstance(peak, bool) or not peak > 0:
        return None
    return flops_per_token(model, sequence) / float(peak)


def record_tokens_per_step(run_dir: str | Path) -> float | None:
    """global_batch_size x sequence length from config.yaml: the tokens `olmo-green train` writes
    in every train row (model/trainer.py tokens_per_step) of the attempt the file was written for
    (the last: each resume rewrites it). None for a loop of the user's own (the meter's config has
    no batch) or a config that cannot be read."""
    trained = _trained(run_dir)
    if trained is None or not trained[0].has("batch") or not trained[2]:
        return None
    return float(trained[0].train.batch.global_batch_size * trained[2])


def run_mfu(profile: HardwareProfile | None, account: RunAccount, steps: pd.DataFrame,
            flops_per_peak: float | None = None) -> tuple[float | None, str]:
    """The run's MFU and "", or None and why it is not known (see the module's docstring).
    `flops_per_peak`: record_flops_per_peak, for crosscheck.mfu's world-size check."""
    if profile is None or not profile.peak_flops_per_device:
        return None, "no GPU peak in the hardware profile"
    if not all(part in MEASURED_METHODS for part in account.method.split("+")):
        return None, f"{account.method} energy: no GPU of the profile ran"
    if not any(d.domain == "gpu" for d in account.devices):
        return None, "no GPU in the record"
    if steps.empty:
        return None, "no timed train steps in steps.csv"
    rows = steps[(steps["phase"] == "train") & ~steps["superseded"]]
    seconds = (rows["time_end_s"] - rows["time_start_s"]).clip(lower=0)
    timed, seconds = rows[seconds > 0], seconds[seconds > 0]
    if timed.empty:
        return None, "no timed train steps in steps.csv"
    values = timed["mfu"] if "mfu" in timed else pd.Series(math.nan, index=timed.index)
    unknown = int(pd.isna(values).sum())
    if unknown:
        return None, (f"steps.csv has no mfu for {unknown} of {len(timed)} train steps (written before the "
                      "trainer recorded it, or by another training loop)")
    step = timed["step"].to_numpy()
    try:
        known = checks.check_column(values, "mfu", lambda i: f"steps.csv step {step[i]:.0f}: mfu")
    except ConfigError as e:  # an edited cell: named, never averaged
        return None, str(e)
    # a plausible cell edited (0.3 to 0.999): the rule above passes it
    edited = mfu_findings(steps, flops_per_peak)
    if edited:
        return None, "; ".join(edited)
    weights = seconds.to_numpy(float)
    return math.fsum(known * weights) / math.fsum(weights), ""
