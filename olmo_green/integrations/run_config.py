"""RUN/config.yaml for a run whose loop is not `olmo-green train`: the profile and tags it used.

`olmo-green report RUN` takes the PUE and intensities from `resolved_hardware`
(reports/build.py), so the record must hold the profile as resolved when the
run started. An existing config.yaml (a resumed run) is left as it is.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from olmo_green import runrecord as rr
from olmo_green.hardware.profiles import HardwareProfile


def write_run_config(run_dir: str | Path, profile: HardwareProfile, tags: dict[str, str],
                     sampling_interval_s: float) -> Path:
    """Write RUN/config.yaml unless the run has one; atomic, so a reader never sees half a file."""
    path = Path(run_dir) / rr.CONFIG_FILE
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"hardware": profile.name, "resolved_hardware": dataclasses.asdict(profile),
            "tags": {str(k): str(v) for k, v in tags.items()},
            "telemetry": {"sampling_interval_s": sampling_interval_s}}
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    tmp.replace(path)
    return path
