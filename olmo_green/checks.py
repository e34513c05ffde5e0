"""The one rule for numbers: every value that enters passes the same checks.

A number may come from a flag, `--set`, a profile or model YAML, a run's
config.yaml, a trace, an intensity series or a checkpoint's config. Whatever
the path, it is checked here, once (docs/design.md, "One rule for numbers"):

- it is a number: not a bool (YAML's `true` is not 1.0), not text such as
  "1,1" or "110%";
- it is finite: `nan` and `inf` are refused wherever a number is read;
- it is in range: a value that would make a figure wrong by orders of
  magnitude (an intensity in g/kWh where kg/kWh is meant, a PUE below 1,
  an MFU of 47 meaning 47 %) is refused, never used;
- a count is an integer (8.7 devices is refused, not truncated to 8).

Consistency between values (devices_per_package divides devices_per_node)
is checked where the values meet (hardware/profiles.py), with these helpers.

Every refusal is a ConfigError: one line naming the value as the user wrote
it (`--pue`, `optim.lr`, `site.yaml: pue`) and what a right value looks like.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass
from typing import Any

import click

from olmo_green.errors import ConfigError
from olmo_green.units import S_PER_HOUR

# Times: a sample, a step window or an hour of a series is stamped in UNIX seconds.
# Before 2000 or more than a week ahead of this machine's clock is no run's time:
# it is milliseconds (x1000), nanoseconds, or a clock that was never set.
EARLIEST_UNIX_S = 946_684_800.0  # 2000-01-01T00:00:00Z
FUTURE_SLACK_S = 7 * 86_400.0

# The most power one device row may show on a profile that does not name its
# accelerator (`local`): above any accelerator package made (a GB200 superchip
# is ~2.7 kW) and above a whole node of them. A profile that names its
# accelerator uses 3x its package TDP instead (telemetry/validate.py).
ABSURD_POWER_W = 20_000.0
SPIKE_FACTOR = 3.0  # a device's power above this many times its package TDP is no measurement


def gpu_limit_w(profile: Any) -> float:
    """The most power one accelerator may show: 3x its package TDP, or, for a profile that does
    not name its accelerator (`local`: its TDP is a guess about a CPU, and a real GPU may well draw
    more) or no profile, an absurd value no device draws (ABSURD_POWER_W). The sampler drops
    values above it as it reads (telemetry/validate.py); a trace's reader and a record's
    summaries drop them the same way."""
    if profile is None or profile.vendor == "any":
        return ABSURD_POWER_W
    return SPIKE_FACTOR * profile.package_tdp_w


def power_above(domain: Any, power_w: Any, limit_w: float | None, accelerators: Any = ("gpu",)) -> Any:
    """A mask of the accelerator rows whose power is above `limit_w` (none where it is None)."""
    import numpy as np
    import pandas as pd

    power = np.asarray(power_w, dtype=float)
    if limit_w is None:
        return np.zeros(len(power), dtype=bool)
    values = np.asarray(domain, dtype=object)
    names = np.where(pd.isna(values), "", values.astype(str))  # no domain: an accelerator
    with np.errstate(invalid="ignore"):
        return np.isin(names, list(accelerators)) & (power > limit_w)


@dataclass(frozen=True)
class Rule:
    """The range a kind of value must fall in, and how to say what is right."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False  # `low` itself is refused (a positive value)
    integer: bool = False
    fix: str = ""

    def text(self) -> str:
        """The range in interval notation: [1, 3], (0, 1], >= 0.001."""
        if self.low is not None and self.high is not None:
            return f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"<= {self.high:g}"


# One rule per kind of value. The key is the value's name without its section,
# so `--pue`, a profile's `pue` and a saved config's `resolved_hardware.pue` share one.
RULES: dict[str, Rule] = {
    # carbon
    "pue": Rule(1.0, 3.0, fix="a PUE is facility energy / IT energy, 1.0 or more (1.1, not 0.5 or 110)"),
    "intensity_kg_per_kwh": Rule(0.0, 2.0, fix="give kg CO2e/kWh (0.656, not 656)"),
    "intensity_g_per_kwh": Rule(0.0, 2000.0, fix="give g CO2e/kWh (656, not 656000)"),
    # estimates
    "mfu": Rule(0.0, 1.0, low_open=True, fix="a fraction of peak FLOPs (0.4, not 40)"),
    "tokens": Rule(0.0, 1e16, low_open=True, fix="training tokens, e.g. 2.46e12"),
    # hardware profiles
    "devices_per_node": Rule(1, 4096, integer=True, fix="a whole number of devices"),
    "devices_per_package": Rule(1, 64, integer=True,
                                fix="whole devices (GCDs) per package, a divisor of devices_per_node"),
    "package_tdp_w": Rule(1.0, ABSURD_POWER_W, fix="a package's TDP in W (560, not 0.56 kW)"),
    "package_idle_w": Rule(0.0, ABSURD_POWER_W, fix="a package's idle power in W"),
    "package_train_w": Rule(0.0, ABSURD_POWER_W, low_open=True, fix="a package's power while training, in W"),
    "peak_flops_per_device": Rule(1e11, 1e17, fix="FLOP/s per device (9.89e14 for an H100, not 989)"),
    "typical_mfu": Rule(0.0, 1.0, low_open=True, fix="a fraction of peak FLOPs (0.47, not 47)"),
    "intensity_market_kg_per_kwh": Rule(0.0, 2.0, fix="give kg CO2e/kWh (0.656, not 656)"),
    "intensity_location_kg_per_kwh": Rule(0.0, 2.0, fix="give kg CO2e/kWh (0.656, not 656)"),
    # holistic accounting: water, embodied carbon, non-GPU hardware. Water for electricity runs up
    # to tens of L/kWh on hydro-heavy grids; mL/kWh (1290 for 1.29) is refused.
    "wue_l_per_kwh": Rule(0.0, 100.0, fix="give L/kWh, on-site plus off-site (1.29, not 1290 mL)"),
    "wue_onsite_l_per_kwh": Rule(0.0, 100.0, fix="give L/kWh (0 for closed-loop cooling, not mL)"),
    "wue_offsite_l_per_kwh": Rule(0.0, 100.0, fix="give L/kWh (1.29, not 1290 mL)"),
    "embodied_kg_per_device_hour": Rule(0.0, 1.0, fix="kg CO2e per device-hour (0.013, not 13 g)"),
    "non_gpu_overhead": Rule(1.0, 5.0, fix="all-hardware energy / GPU energy, 1 or more (1.74, not 74%)"),
    # telemetry
    "sampling_interval_s": Rule(0.001, 60.0, fix="seconds between samples, 1 ms to 60 s (0.1 is usual)"),
    "summary_bucket_s": Rule(0.1, S_PER_HOUR,
                             fix="seconds per summary bucket, a divisor of 3600 (10 is usual)"),
    "metrics_port": Rule(0, 65535, integer=True, fix="a TCP port, e.g. 9101 (0: any free port)"),
    "forecast_interval_s": Rule(0.0, 86_400.0,
                                fix="seconds between forecast events (60 is usual; 0: each step)"),
    "probe_seconds": Rule(0.01, 600.0, fix="seconds to poll each source"),
}


def _named(label: str) -> str:
    return f"{label} " if label else ""


def to_number(value: Any, label: str, integer: bool = False) -> float | int:
    """`value` as a finite float (or an int for a count); text is parsed strictly."""
    if isinstance(value, bool) or value is None:
        raise ConfigError(f"{_named(label)}must be a number, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text) if integer and text.lstrip("+-").isdigit() else float(text)
        except ValueError:
            raise ConfigError(f"{_named(label)}must be a number, got {value!r} "
                              "(write 1.1, not 1,1 or 110%)") from None
    if isinstance(value, numbers.Integral):  # numpy's integers and floats too
        value = int(value)
    elif isinstance(value, numbers.Real):
        value = float(value)
    if not isinstance(value, (int, float)):
        raise ConfigError(f"{_named(label)}must be a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{_named(label)}must be a finite number, got {value!r}")
    if integer:
        if isinstance(value, float) and not value.is_integer():
            raise ConfigError(f"{_named(label)}is a count and must be a whole number, got {value!r}")
        return int(value)
    return float(value)


def check(value: Any, kind: str, label: str | None = None) -> float | int:
    """`value` converted and checked against RULES[kind]; `label` names it in the message."""
    rule = RULES[kind]
    label = kind if label is None else label
    number = to_number(value, label, integer=rule.integer)
    in_range = ((rule.low is None or (number > rule.low if rule.low_open else number >= rule.low))
                and (rule.high is None or number <= rule.high))
    if not in_range:
        fix = f"; {rule.fix}" if rule.fix else ""
        raise ConfigError(f"{_named(label)}{number:g} is not in {rule.text()}{fix}")
    return number + 0 if rule.integer else number + 0.0  # -0.0 is 0.0: a table never prints "-0"


def check_column(values: Any, kind: str, label_of: Any) -> Any:
    """A column of values checked as check() checks each one, vectorised for tables of millions
    of rows (steps.csv): a float array, or the ConfigError check() gives the first refused value,
    named by `label_of(position)`."""
    import numpy as np  # here, not at the top: the CLI imports this module for --help
    import pandas as pd

    series = pd.Series(values).reset_index(drop=True)
    numbers = pd.to_numeric(series, errors="coerce").to_numpy(float)
    rule = RULES[kind]
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(numbers)
        if series.dtype == bool:  # YAML's or pandas' true is not 1.0
            ok[:] = False
        elif series.dtype == object:
            ok &= ~series.map(lambda v: isinstance(v, bool)).to_numpy(bool)
        if rule.low is not None:
            ok &= numbers > rule.low if rule.low_open else numbers >= rule.low
        if rule.high is not None:
            ok &= numbers <= rule.high
        if rule.integer:
            ok &= numbers == np.round(numbers)
    bad = np.flatnonzero(~ok)
    if len(bad):
        value = series.iloc[bad[0]]
        value = value.item() if isinstance(value, np.generic) else value  # np.True_ reads as True
        check(value, kind, label_of(int(bad[0])))  # raises, in check()'s words
        raise ConfigError(f"{_named(label_of(int(bad[0])))}{value!r} is not a number")
    return numbers + 0.0


def finite(value: Any, label: str) -> float:
    return float(to_number(value, label))


def positive(value: Any, label: str, integer: bool = False) -> float | int:
    number = to_number(value, label, integer=integer)
    if number <= 0:
        raise ConfigError(f"{_named(label)}must be positive, got {number!r}")
    return number


def at_least(value: Any, low: float, label: str, integer: bool = False) -> float | int:
    number = to_number(value, label, integer=integer)
    if number < low:
        raise ConfigError(f"{label} must be >= {low:g}, got {number!r}")
    return number


def within(value: Any, low: float, high: float, label: str, integer: bool = False) -> float | int:
    number = to_number(value, label, integer=integer)
    if not low <= number <= high:
        raise ConfigError(f"{label} must be in {low:g}..{high:g}, got {number!r}")
    return number


def divides(part: int, whole: int, part_label: str, whole_label: str) -> None:
    if part <= 0 or whole % part:
        raise ConfigError(f"{part_label} ({part}) must be a positive divisor of {whole_label} ({whole})")


# ---------------------------------------------------------------- times


def latest_plausible_unix_s() -> float:
    return time.time() + FUTURE_SLACK_S


def implausible_times(times_s):
    """True where a time is not a plausible UNIX time in seconds (NaN counts as implausible)."""
    import numpy as np  # here, not at the top: the CLI imports this module for --help

    times_s = np.asarray(times_s, dtype=float)
    with np.errstate(invalid="ignore"):
        return ~((times_s >= EARLIEST_UNIX_S) & (times_s <= latest_plausible_unix_s()))


def time_problem(time_s: float) -> str:
    """Why one time is not plausible UNIX seconds, in words."""
    now = time.time()
    if not math.isfinite(time_s):
        return f"time {time_s} is not a number"
    if time_s > now * 1e5:
        return f"time {time_s:.6g} looks like nanoseconds or microseconds, not UNIX seconds"
    if time_s > now * 100:
        return f"time {time_s:.6g} looks like milliseconds, not UNIX seconds"
    if time_s > now:
        return f"time {time_s:.6g} is {(time_s - now) / 86_400:,.0f} days in the future"
    return f"time {time_s:.6g} is before 2000, not a UNIX time of a run"


# ---------------------------------------------------------------- click


class Checked(click.ParamType):
    """A click type for a number flag that passes RULES[kind] (or is finite and positive)."""

    name = "number"

    def __init__(self, kind: str | None = None, integer: bool = False) -> None:
        self.kind, self.integer = kind, integer

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float | int:
        try:  # click names the flag ("Invalid value for '--pue'"): the message need not
            if self.kind is not None:
                return check(value, self.kind, "")
            return positive(value, "", integer=self.integer)
        except ConfigError as e:
            self.fail(str(e), param, ctx)


# ---------------------------------------------------------------- model configurations

# Sizes of a model: positive whole numbers, whichever OLMo generation names them.
MODEL_SIZES = ("d_model", "n_heads", "n_kv_heads", "n_layers", "mlp_hidden_size", "vocab_size",
               "embedding_size", "max_sequence_length")
MODEL_TOKEN_IDS = ("eos_token_id", "pad_token_id", "bos_token_id")


def check_model_numbers(config: Any, origin: str | None = None) -> None:
    """Every number of a model configuration (a dataclass such as OLMoConfig) is finite, its
    counts whole, its sizes positive and its token ids inside the vocabulary.

    Generic over the fields, so a field added for a new OLMo generation is checked too.
    `origin` (a file) starts the message.
    """
    try:
        _check_model_numbers(config)
    except ConfigError as e:
        raise ConfigError(f"{origin}: {e}" if origin else str(e)) from e


def _check_model_numbers(config: Any, label: str = "model") -> None:
    import dataclasses
    import typing

    hints = typing.get_type_hints(type(config))
    for field in dataclasses.fields(config):
        value, hint = getattr(config, field.name), str(hints.get(field.name, ""))
        key = f"{label}.{field.name}"
        if value is None or "bool" in hint or isinstance(value, (str, list, tuple, dict)):
            continue
        integer = "int" in hint and "float" not in hint
        number = to_number(value, key, integer=integer)
        if field.name in MODEL_SIZES or field.name in ("rope_theta", "layer_norm_eps", "clip_qkv"):
            positive(number, key)
    vocab = getattr(config, "vocab_size", None)
    for name in MODEL_TOKEN_IDS:
        token = getattr(config, name, None)
        if token is not None and vocab is not None and not 0 <= token < vocab:
            raise ConfigError(f"{label}.{name} ({token}) must be a token id inside the vocabulary "
                              f"(0..{vocab - 1})")
