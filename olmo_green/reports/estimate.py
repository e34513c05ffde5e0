"""What a training run would cost before it starts: FLOPs -> device-hours -> energy -> emissions.

Training FLOPs per token (the PaLM / MosaicML llm-foundry MFU convention; computed by
olmo_green/model/metrics.py flops_per_token, the trainer's own MFU formula):

    6 x N_matmul            forward (2) and backward (4) FLOPs per weight used in a matmul
  + 12 x n_layers x d_model x seq   attention scores (QK^T) and weighted values (AV):
                            2 x seq x d_model multiply-adds per token per layer, x3 for training

N_matmul is every weight except the input embedding (a table lookup, no FLOPs); the
output projection (embedding_size x d_model) is a matmul whether tied or not. The
attention term is not halved for the causal mask, as in that convention, so the MFU
figures we cite are comparable. For OLMo-7B: 4.33e10 FLOPs per token. A sliding-window
layer (OLMo 3) counts its window instead of seq where the window is shorter. seq is the
model's max_sequence_length (OLMo 3: its 8,192-token pretraining context).

device-seconds = FLOPs / (peak bf16 FLOP/s per device x MFU); energy = device-seconds x
the profile's typical training power per device. Everything a real run adds on top of
steady training (evaluation, checkpoints, restarts, idle devices) is not modelled: an
estimate is a lower bound on a real campaign, and says so.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from olmo_green.carbon import CarbonLine, CarbonOptions, emissions_kg, resolve_factors
from olmo_green.errors import ConfigError
from olmo_green.hardware import HardwareProfile, load_profile
from olmo_green.reports.holistic import Holistic, holistic
from olmo_green.units import S_PER_HOUR, mwh

PUBLISHED_TABLE = Path(__file__).with_name("published.csv")


@dataclass(frozen=True)
class Published:
    """A published energy figure to compare an estimate against."""

    tokens: float
    gpu_energy_mwh: float
    source: str


@dataclass(frozen=True)
class Estimate:
    """The modelled energy and emissions of one (model, tokens, hardware) scenario."""

    model: str
    tokens: float
    hardware: str
    gpu_type: str
    flops_per_token: float
    mfu: float
    mfu_source: str
    device_seconds: float
    power_per_device_w: float
    power_source: str
    pue: float
    pue_source: str
    carbon: list[CarbonLine]
    published: Published | None = None
    method: str = "modelled"
    holistic: Holistic | None = None  # water, embodied carbon, all-hardware energy: beside the headline

    @property
    def flops(self) -> float:
        return self.flops_per_token * self.tokens

    @property
    def device_hours(self) -> float:
        return self.device_seconds / S_PER_HOUR

    @property
    def gpu_energy_j(self) -> float:
        return self.device_seconds * self.power_per_device_w

    @property
    def gpu_energy_mwh(self) -> float:
        return mwh(self.gpu_energy_j)

    @property
    def intensity_kg_per_kwh(self) -> float | None:
        """The headline intensity; None when the profile knows none (pass --intensity)."""
        return self.carbon[0].intensity_kg_per_kwh if self.carbon else None

    @property
    def emissions_tco2eq(self) -> float | None:
        return self.carbon[0].emissions_t if self.carbon else None

    @property
    def published_scaled_mwh(self) -> float | None:
        """The published energy scaled linearly to this scenario's tokens."""
        if self.published is None:
            return None
        return self.published.gpu_energy_mwh * self.tokens / self.published.tokens

    @property
    def deviation_from_published(self) -> float | None:
        """(estimate - published) / published, at this scenario's tokens."""
        scaled = self.published_scaled_mwh
        return None if scaled is None else self.gpu_energy_mwh / scaled - 1.0


def load_model_config(name_or_path: str):
    """A model preset (olmo-7b, ...) or a model YAML file -> OLMoConfig (the one loader)."""
    from olmo_green.model.config import load_model_config as load  # the configuration only: no torch

    return load(name_or_path)


def training_flops_per_token(config) -> float:
    """Training FLOPs per token of an OLMoConfig at its max_sequence_length (module docstring)."""
    from olmo_green.model.metrics import flops_per_token

    return flops_per_token(config, config.max_sequence_length)


@lru_cache(maxsize=1)
def _published() -> dict[tuple[str, str], Published]:
    with PUBLISHED_TABLE.open(encoding="utf-8") as f:
        return {(r["model"], r["hardware"]):
                Published(float(r["tokens"]), float(r["gpu_energy_mwh"]), r["source"])
                for r in csv.DictReader(f)}


def _require(profile: HardwareProfile, key: str, flag: str) -> float:
    value = getattr(profile, key)
    if value is None:
        raise ConfigError(f"hardware profile {profile.name!r} has no {key}; add it to the profile"
                          + (f" or pass {flag}" if flag else ""))
    return float(value)


def _mfu(profile: HardwareProfile, mfu: float | None) -> tuple[float, str]:
    if mfu is not None:
        if not 0.0 < mfu <= 1.0:
            raise ConfigError(f"--mfu {mfu} is outside (0, 1]; pass a fraction such as 0.4")
        return mfu, "--mfu"
    return _require(profile, "typical_mfu", "--mfu"), profile.sources.get("typical_mfu", profile.name)


def estimate(model: str, tokens: float, hardware: str, mfu: float | None = None,
             carbon: CarbonOptions | None = None) -> Estimate:
    """The modelled cost of training `model` on `tokens` tokens on one hardware profile."""
    if tokens <= 0:
        raise ConfigError(f"--tokens {tokens:g} must be positive, e.g. 2.46e12")
    config = load_model_config(model)
    profile = load_profile(hardware)
    mfu_value, mfu_source = _mfu(profile, mfu)
    peak = _require(profile, "peak_flops_per_device", "")
    package_w = _require(profile, "package_train_w", "")
    per_token = training_flops_per_token(config)
    device_seconds = per_token * tokens / (peak * mfu_value)
    # A package's power is shared by its devices (an MI250X: two GCDs).
    power_w = package_w / profile.devices_per_package
    factors = resolve_factors(carbon or CarbonOptions(), profile, require_intensity=False)
    energy_j = device_seconds * power_w
    lines = [CarbonLine(basis=i.basis, intensity_kg_per_kwh=i.kg_per_kwh,
                        emissions_kg=emissions_kg(energy_j, factors.pue, i.kg_per_kwh),
                        source=i.source, headline=n == 0) for n, i in enumerate(factors.intensities)]
    wue = carbon.wue if carbon is not None else None
    extra = holistic(energy_j, factors.pue, device_seconds / S_PER_HOUR, profile, wue=wue)
    return Estimate(model=model, tokens=tokens, hardware=profile.name, gpu_type=profile.gpu_type,
                    flops_per_token=per_token, mfu=mfu_value, mfu_source=mfu_source,
                    device_seconds=device_seconds, power_per_device_w=power_w,
                    power_source=profile.sources.get("package_train_w", profile.name), pue=factors.pue,
                    pue_source=factors.pue_source, carbon=lines,
                    published=_published().get((model, profile.name)), holistic=extra)
