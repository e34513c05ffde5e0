"""The run's config.yaml for loops other than `olmo-green train`.

`olmo-green train` writes RUN/config.yaml (its configuration, the resolved
model and hardware profile) before training. A loop measured with EnergyMeter
or hf_energy_callback has no such file, and a report of it would not know the
profile: it would say "unknown (pass --hardware)" and apply PUE 1.0 instead of
the profile's. So the meter writes the resolved profile (and the run's tags)
when it starts, if the run has no config.yaml yet: `olmo-green report RUN`
then gives the same figures for it as for a run of ours.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from pathlib import Path

import yaml

from olmo_green import runrecord as rr
from olmo_green.fileio import umask
from olmo_green.hardware.profiles import HardwareProfile

log = logging.getLogger(__name__)


def write_profile_if_missing(run_dir: Path, profile: HardwareProfile, simulate: bool = False,
                             tags: dict[str, str] | None = None,
                             telemetry: dict[str, float] | None = None) -> bool:
    """Write RUN/config.yaml with the resolved profile unless one exists; True if written.

    `telemetry` (sampling_interval_s, summary_bucket_s) lets a report rebuild chunk summaries
    with the settings the meter used (summaries/record.py).
    Never replaces a config.yaml (one written by `olmo-green train`, or by an earlier
    attempt of this run); never raises into training: a write that fails is logged.
    """
    path = Path(run_dir) / rr.CONFIG_FILE
    if path.exists():
        return False
    data = {"hardware": profile.name, "simulate": simulate,
            "resolved_hardware": dataclasses.asdict(profile)}
    if telemetry:
        data["telemetry"] = {str(k): float(v) for k, v in telemetry.items()}
    if tags:
        data["tags"] = {str(k): str(v) for k, v in tags.items()}
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        tmp = Path(name)
        os.fchmod(fd, 0o666 & ~umask())
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(yaml.safe_dump(data, sort_keys=False))
        os.link(tmp, path)  # atomic, and never replaces a config.yaml written meanwhile
        return True
    except FileExistsError:
        return False
    except OSError as e:
        log.warning("telemetry: could not write %s (%s); report this run with --hardware %s",
                    path, e.strerror or e, profile.name)
        return False
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
