"""The meter's settings: config.yaml's `telemetry` section, one type with one set of names.

`olmo-green train` (`--set telemetry.KEY=VALUE`), EnergyMeter (keyword arguments or
options=TelemetryOptions(...)), the Hugging Face callback (its keyword arguments) and the
OLMo-core EnergyCallbackConfig (which inherits these fields) all fill this dataclass, and a
run's config.yaml stores it, so the summaries a report rebuilds and `report --verify` use the
settings the meter sampled with. Before it there were three shapes (TelemetrySection,
MeterOptions, EnergyCallbackConfig) and the interval was `interval_s` in one and
`sampling_interval_s` in another; the old meter names are still accepted (OLD_NAMES).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, fields
from typing import Any

from olmo_green import checks
from olmo_green.errors import ConfigError
from olmo_green.record.keys import RENAMED, unknown_key
from olmo_green.units import S_PER_HOUR

DEFAULT_SAMPLING_INTERVAL_S = 0.1  # NVML's power updates every ~100 ms on A100/H100 (docs/design.md)
DEFAULT_FLUSH_INTERVAL_S = 2.0  # a SIGKILL loses at most this much of the samples
DEFAULT_BUCKET_S = 10.0  # time buckets of the chunk summaries (a divisor of an hour)
DEFAULT_SYNC_INTERVAL_STEPS = 10  # the meter's own sum over nodes (one collective) this often
# Names EnergyMeter(...) and MeterOptions accepted before the record/ package: new name.
OLD_NAMES = RENAMED


@dataclass
class TelemetryOptions:
    """How often the meter samples, flushes, sums and forecasts; the defaults suit a real run."""

    sampling_interval_s: float = DEFAULT_SAMPLING_INTERVAL_S  # background sampler period
    summary_bucket_s: float = DEFAULT_BUCKET_S  # chunk summaries' time buckets (summaries/build.py)
    flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S  # samples reach the disk this often
    # Steps between sums over nodes (a collective); None: every 10 steps in the meter, and in the
    # OLMo-core callback every step in one process, the trainer's metrics_collect_interval with several.
    sync_interval_steps: int | None = None
    merge_idle_s: float = 1.0  # an idle moment shorter than this joins the next window (inf: always)
    # Read the sensors at each window boundary, so a step's energy is counter(end) -
    # counter(start) rather than interpolated between background samples (docs/design.md).
    read_at_boundaries: bool = True
    # Prometheus /metrics on each node's sampler process (telemetry/metrics.py); None: off, 0: any free port
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"  # loopback unless asked: the endpoint has no authentication
    forecast_interval_s: float = 60.0  # at most one forecast event this often (telemetry/forecast.py)

    def __post_init__(self) -> None:
        """The rule for numbers (checks.py): a period of 0 or NaN would be a busy loop."""
        self.sampling_interval_s = checks.check(self.sampling_interval_s, "sampling_interval_s",
                                                "telemetry.sampling_interval_s")
        self.summary_bucket_s = checks.check(self.summary_bucket_s, "summary_bucket_s",
                                             "telemetry.summary_bucket_s")
        if S_PER_HOUR % self.summary_bucket_s:  # hours must be whole buckets: hourly intensities stay exact
            raise ConfigError(f"telemetry.summary_bucket_s must divide 3600 (an hour), "
                              f"got {self.summary_bucket_s!r}")
        self.flush_interval_s = checks.positive(self.flush_interval_s, "telemetry.flush_interval_s")
        if self.sync_interval_steps is not None:
            self.sync_interval_steps = checks.positive(
                self.sync_interval_steps, "telemetry.sync_interval_steps", integer=True)
        if self.merge_idle_s != math.inf:  # inf (idle always joins the next window) is a setting
            self.merge_idle_s = checks.at_least(self.merge_idle_s, 0.0, "telemetry.merge_idle_s")
        if not isinstance(self.read_at_boundaries, bool):
            raise ConfigError(f"telemetry.read_at_boundaries must be true or false, "
                              f"got {self.read_at_boundaries!r}")
        if self.metrics_port is not None:
            self.metrics_port = checks.check(self.metrics_port, "metrics_port", "telemetry.metrics_port")
        if not isinstance(self.metrics_host, str) or not self.metrics_host.strip():
            raise ConfigError("telemetry.metrics_host must name an address, e.g. 127.0.0.1")
        self.forecast_interval_s = checks.check(self.forecast_interval_s, "forecast_interval_s",
                                                "telemetry.forecast_interval_s")

    @property
    def sync_every_steps(self) -> int:
        """Steps between the meter's sums over nodes (sync_interval_steps, or its default)."""
        return self.sync_interval_steps or DEFAULT_SYNC_INTERVAL_STEPS

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def of(cls, holder: Any) -> TelemetryOptions:
        """The options held by `holder`'s fields of the same names (the OLMo-core config)."""
        return cls(**{name: getattr(holder, name) for name in cls.names()})


def renamed(settings: dict[str, Any], where: str = "EnergyMeter") -> dict[str, Any]:
    """`settings` with the old meter names (interval_s, sync_every_steps) renamed, each with a
    DeprecationWarning; a name given both ways, or one no option has, is one line."""
    out = {}
    for name, value in settings.items():
        new = OLD_NAMES.get(name)
        if new is not None:
            warnings.warn(f"{where}({name}=...) is now {new}=...; the old name goes in a later release",
                          DeprecationWarning, stacklevel=3)
            if new in settings:
                raise ConfigError(f"{where}: give {new} only, not also its old name {name}")
            name = new
        if name not in TelemetryOptions.names():
            raise unknown_key(name, TelemetryOptions.names(), where=f"{where} option")
        out[name] = value
    return out
