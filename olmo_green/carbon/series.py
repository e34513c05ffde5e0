"""Reading and checking an hourly intensity series file.

Format: a CSV with a header and two columns, `timestamp` (ISO 8601, a time
zone or UTC assumed, or UNIX seconds) and the intensity in g CO2e/kWh (the
column may be named `g_per_kwh`, `intensity_g_per_kwh` or anything; the second
column is used). One row per hour, no hour missing, no negative value: a
missing hour would silently drop that hour's energy from the emissions.

The rule for numbers (checks.py) applies: times are plausible UNIX seconds
(not milliseconds), each value is at most 2000 g/kWh (2 kg/kWh, the limit of
--intensity), and a series whose every value is at most 2 (but not all 0) is
refused as kg/kWh written where g/kWh is meant. A gzip file is read. Naive
timestamps are read as UTC, and the series' source says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green import checks
from olmo_green.carbon.intensity import HourlyIntensity
from olmo_green.errors import ConfigError, InputFileError
from olmo_green.units import S_PER_HOUR

KG_LOOKING_MAX = 2.0  # a whole series at or below this many g/kWh was written in kg/kWh
_ZONED = r"(?:Z|[+-]\d\d:?\d\d)\s*$"  # an ISO 8601 time with its zone


def _fail(path: Path, line: int | None, what: str, fix: str) -> InputFileError:
    where = f"{path}:{line}" if line else f"{path}"
    return InputFileError(f"{where}: {what}; {fix}")


def _parse_times_s(path: Path, column: pd.Series) -> tuple[np.ndarray, bool]:
    """UNIX seconds of each row, and whether some were naive (no zone: read as UTC)."""
    numeric = pd.to_numeric(column, errors="coerce")
    if numeric.notna().all():
        times_s = numeric.to_numpy(dtype=float)
        naive = False
    else:
        stamps = pd.to_datetime(column, utc=True, errors="coerce", format="ISO8601")
        bad = np.flatnonzero(stamps.isna().to_numpy())
        if len(bad):
            raise _fail(path, int(bad[0]) + 2, f"unreadable timestamp {column.iloc[bad[0]]!r}",
                        "write ISO 8601 (2024-01-31T13:00:00Z) or UNIX seconds")
        times_s = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
        naive = not column.astype(str).str.contains(_ZONED, regex=True).all()
    bad = np.flatnonzero(checks.implausible_times(times_s))
    if len(bad):
        raise _fail(path, int(bad[0]) + 2, checks.time_problem(float(times_s[bad[0]])),
                    "write ISO 8601 (2024-01-31T13:00:00Z) or UNIX seconds")
    return times_s, naive


def _check_values(path: Path, times_s: np.ndarray, g_per_kwh: np.ndarray) -> None:
    bad = np.flatnonzero(~np.isfinite(g_per_kwh) | (g_per_kwh < 0))
    if len(bad):
        raise _fail(path, int(bad[0]) + 2, f"intensity {g_per_kwh[bad[0]]} is negative or empty",
                    "give a g CO2e/kWh value of 0 or more for every hour")
    for i, value in enumerate(g_per_kwh):  # the rule for numbers: one limit for every intensity
        try:
            checks.check(value, "intensity_g_per_kwh", "intensity")
        except ConfigError as e:
            raise _fail(path, i + 2, str(e).split("; ")[0], "give g CO2e/kWh (656, not 656000)") from None
    if 0 < g_per_kwh.max() <= KG_LOOKING_MAX:
        raise _fail(path, None, f"every value is at most {g_per_kwh.max():g} g/kWh, which no grid averages: "
                    "the series looks like kg/kWh", "give g CO2e/kWh (656, not 0.656)")
    steps = np.diff(times_s)
    wrong = np.flatnonzero(np.abs(steps - S_PER_HOUR) > 1.0)
    if len(wrong):
        i = int(wrong[0])
        what = "hour(s) missing" if steps[i] > S_PER_HOUR else "rows are not one hour apart or not in order"
        raise _fail(path, i + 3, f"{what} between lines {i + 2} and {i + 3} ({steps[i]:.0f} s apart)",
                    "give one row per hour, in order, with no hour missing")


def read_intensity_series(path: str | Path, basis: str = "location") -> HourlyIntensity:
    """An HourlyIntensity from a CSV file, checked row by row."""
    path = Path(path)
    if path.is_dir():
        raise _fail(path, None, "is a directory", "pass the series CSV file itself")
    if not path.is_file():
        raise _fail(path, None, "intensity series not found", "pass an existing CSV (timestamp,g_per_kwh)")
    try:
        frame = pd.read_csv(path, encoding="utf-8-sig")  # compression from the name (.gz, .bz2)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, EOFError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise _fail(path, None, f"not a readable CSV ({first})", "write timestamp,g_per_kwh rows") from e
    if frame.shape[1] < 2 or len(frame) == 0:
        raise _fail(path, 1, "needs a header and at least one row of two columns",
                    "write timestamp,g_per_kwh rows")
    times_s, naive = _parse_times_s(path, frame.iloc[:, 0])
    raw = frame.iloc[:, 1]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    if np.isnan(values).all():
        raise _fail(path, 1, f"column {frame.columns[1]!r} holds no numbers",
                    "the second column is the intensity in g CO2e/kWh")
    text = np.flatnonzero(np.isnan(values) & raw.notna().to_numpy())
    if len(text):
        raise _fail(path, int(text[0]) + 2, f"intensity {raw.iloc[text[0]]!r} is not a number",
                    "write the number alone, in g CO2e/kWh (656, not '656 g')")
    _check_values(path, times_s, values)
    zone = ", naive times read as UTC" if naive else ""
    return HourlyIntensity(hour_start_s=times_s, g_per_kwh=values, basis=basis,
                           source=f"hourly series {path.name} ({len(values)} h{zone})")


def check_covers(series: HourlyIntensity, path: str | Path, start_s: float, end_s: float) -> None:
    """Fail if the run's time span has hours the series does not give."""
    first, last = float(series.hour_start_s[0]), float(series.hour_start_s[-1]) + S_PER_HOUR
    if start_s < first or end_s > last:
        span = f"{pd.Timestamp(start_s, unit='s', tz='UTC')} .. {pd.Timestamp(end_s, unit='s', tz='UTC')}"
        have = f"{pd.Timestamp(first, unit='s', tz='UTC')} .. {pd.Timestamp(last, unit='s', tz='UTC')}"
        raise _fail(Path(path), None, f"covers {have} but the run spans {span}",
                    "add rows for the missing hours")
