"""How efficiently a run trained: tokens per kWh, and on GPUs its model FLOPs utilisation (MFU).

For a given model and token count the greenest run is the fastest one: energy per token
falls as MFU rises. MFU here is the trainer's formula (model/metrics.py: training FLOPs
per token, 6N plus attention) over the whole run's train windows:

    MFU = train tokens x FLOPs per token / train seconds / (peak FLOP/s per device x devices)

with the peak from the run's hardware profile (cited there) and the devices those the
record measured. It is None (null in JSON) where it cannot be known: no peak in the
profile, modelled or replayed energy (a simulated run ran on no such GPU), no model in
config.yaml (a loop other than `olmo-green train`), or no timed train windows.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from olmo_green.errors import GreenError
from olmo_green.hardware import HardwareProfile
from olmo_green.record import RunConfig
from olmo_green.reports.account import RunAccount
from olmo_green.reports.steps import train_tokens

MEASURED_METHODS = ("counter", "power_integration")


def run_mfu(run_dir: Path, profile: HardwareProfile | None, account: RunAccount,
            steps: pd.DataFrame) -> float | None:
    """The run's MFU, or None where it is not known (see the module's docstring)."""
    if profile is None or not profile.peak_flops_per_device:
        return None
    if not all(part in MEASURED_METHODS for part in account.method.split("+")):
        return None
    flops = _flops_per_token(run_dir)
    seconds, tokens = _train_seconds(steps), train_tokens(steps)
    gpus = sum(1 for d in account.devices if d.domain == "gpu")
    if flops is None or not seconds or not tokens or not gpus:
        return None
    # a record device is a package (an MI250X's two GCDs count once); the peak is per GCD
    devices = gpus * profile.devices_per_package
    return tokens * flops / seconds / (profile.peak_flops_per_device * devices)


def _train_seconds(steps: pd.DataFrame) -> float:
    if steps.empty:
        return 0.0
    rows = steps[(steps["phase"] == "train") & ~steps["superseded"]]
    return float((rows["time_end_s"] - rows["time_start_s"]).clip(lower=0).sum())


def _flops_per_token(run_dir: Path) -> float | None:
    """Training FLOPs per token of the model config.yaml names, at the sequence length it trained."""
    from olmo_green.model.config import OLMoConfig  # the configuration only: no torch import
    from olmo_green.model.metrics import flops_per_token

    try:
        config = RunConfig.load(run_dir)
        if config is None or config.resolved_model is None:
            return None
        model = OLMoConfig.from_dict(config.resolved_model)
        sequence = config.value("model.sequence_length") or model.max_sequence_length
        return flops_per_token(model, int(sequence))
    except (GreenError, KeyError, TypeError, ValueError, AttributeError):
        return None  # no model known: MFU is left unknown, never guessed
