"""What the meter shows while the run goes on: a Prometheus endpoint, experiment trackers and a
forecast of the run's total.

All three are fed from the meter's own figures (its tracks and the windows it records), so
they show what the record will hold. None is on unless asked (options, trackers, max_steps), and none raises
into training: a port in use or a tracker that fails is one warning, and training goes on.
Where they run: the endpoint on every process that samples a node (it shows that node's
devices); trackers and the forecast on the process that writes the run's shared files (its
window energies are already summed over nodes).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from olmo_green import record as rr
from olmo_green.carbon.accounting import headline_factor
from olmo_green.carbon.intensity import emissions_kg
from olmo_green.hardware.profiles import HardwareProfile
from olmo_green.telemetry.forecast import Forecaster, ForecastOutput
from olmo_green.telemetry.outputs import LiveOutput, LiveSnapshot
from olmo_green.units import J_PER_KWH

log = logging.getLogger(__name__)


def job_event(time_s: float) -> dict | None:
    """The SLURM job this process runs in (`report --sacct` asks sacct about it); None outside SLURM."""
    job_id = os.environ.get("SLURM_JOB_ID") or os.environ.get("SLURM_JOBID")
    if not job_id:
        return None
    return {"kind": rr.EVENT_JOB, "time_s": time_s, "slurm_job_id": job_id,
            "slurm_cluster": os.environ.get("SLURM_CLUSTER_NAME")}


class LiveOutputs:
    """The meter's live outputs; `open` starts those the options ask for. The meter calls
    on_window with a snapshot and writes the events returned; no output sees the meter."""

    def __init__(self, outputs: list[LiveOutput] | None = None, endpoint: LiveOutput | None = None) -> None:
        self.outputs = list(outputs or [])
        self.endpoint = endpoint  # the Prometheus endpoint, also among outputs (None: not served)

    @classmethod
    def open(cls, options, group, profile: HardwareProfile, run_dir: Path | None,
             run_params: dict[str, str], snapshot, trackers: tuple = (),
             max_steps: int | None = None) -> LiveOutputs:
        """`options` are the meter's (MeterOptions), `group` its NodeGroup, `snapshot` a callable
        returning a LiveSnapshot now (for scrapes between windows)."""
        if options.metrics_port is None and not trackers and max_steps is None:
            return cls()
        factor = headline_factor(profile)
        kg_per_kwh = factor[0] if factor else None
        outputs: list[LiveOutput] = []
        endpoint = None
        if options.metrics_port is not None and group is not None and group.is_sampler:
            from olmo_green.telemetry.metrics import MetricsEndpoint

            endpoint = MetricsEndpoint.start(snapshot, kg_per_kwh, options.metrics_host, options.metrics_port)
            outputs += [endpoint] if endpoint is not None else []
        if group is None or not group.is_writer:
            return cls(outputs, endpoint)
        if trackers and run_dir is not None:
            from olmo_green.telemetry.trackers import open_trackers

            outputs.append(TrackerOutput(open_trackers(trackers, run_dir, run_params), kg_per_kwh))
        if max_steps is not None:
            outputs.append(ForecastOutput(Forecaster(max_steps, kg_per_kwh, water_l_per_kwh(profile),
                                                     options.forecast_interval_s)))
        return cls(outputs, endpoint)

    def on_window(self, snapshot: LiveSnapshot) -> list[dict]:
        """A window the meter just recorded (energy summed over nodes): the outputs' events.
        Never raises: a live figure must never stop training."""
        events: list[dict] = []
        for output in self.outputs:
            try:
                events += output.on_window(snapshot)
            except Exception as e:
                log.warning("telemetry: live output %s failed on step %s (%s); training continues",
                            type(output).__name__, snapshot.window.step if snapshot.window else "-", e)
        return events

    def progress_text(self) -> str:
        """The latest forecast, for the progress bar; empty before the first."""
        return "  ".join(t for t in (o.progress_text() for o in self.outputs) if t)

    def close(self) -> None:
        """Stop the endpoint and close the trackers; never raises."""
        close_all(self.outputs)


class TrackerOutput(LiveOutput):
    """Experiment trackers (telemetry/trackers.py), fed each train window's figures."""

    def __init__(self, trackers: list, kg_per_kwh: float | None) -> None:
        self.trackers, self.kg_per_kwh = trackers, kg_per_kwh

    def on_window(self, snapshot: LiveSnapshot) -> list[dict]:
        window = snapshot.window
        if window is None or window.phase != "train":
            return []
        values = step_values(window, snapshot.run_j, self.kg_per_kwh)
        for tracker in list(self.trackers):
            try:
                tracker.log(window.step, values)
            except Exception as e:  # one warning, then the run goes on without that tracker
                log.warning("%s failed (%s); training continues without it", type(tracker).__name__, e)
                self.trackers.remove(tracker)
        return []

    def close(self) -> None:
        close_all(self.trackers)


def close_all(parts: list) -> None:
    """Close each part (an output, a tracker); one that fails is a warning, never an exception."""
    for part in parts:
        try:
            part.close()
        except Exception as e:
            log.warning("telemetry: closing %s failed (%s)", type(part).__name__, e)


def step_values(window, run_j: float, kg_per_kwh: float | None) -> dict[str, float]:
    """One step's figures for a tracker: metric names carry their unit."""
    values = {key: float(window.metrics[key]) for key in ("loss", "lr")
              if isinstance(window.metrics.get(key), (int, float))}
    duration_s = window.end_s - window.start_s
    values["energy/step_j"] = window.energy_j
    if duration_s > 0:
        values["energy/power_w"] = window.energy_j / duration_s
    values["energy/total_kwh"] = run_j / J_PER_KWH
    if kg_per_kwh is not None:
        values["energy/emissions_kg_co2e"] = emissions_kg(run_j, 1.0, kg_per_kwh)  # PUE is in the factor
    return values


def run_params(profile: HardwareProfile, simulate: bool, tags: dict[str, str] | None) -> dict[str, str]:
    """What a tracker records about the run (its parameters), all text."""
    params = {"hardware": profile.name, "gpu_type": profile.gpu_type,
              "simulate": str(simulate), "pue": str(profile.pue)}
    return params | {f"tag.{k}": str(v) for k, v in (tags or {}).items()}


def water_l_per_kwh(profile: HardwareProfile) -> float | None:
    """Water per kWh of GPU energy (L/kWh): PUE x WUE (docs/design.md: water = GPU energy x PUE x
    WUE), WUE being the profile's published total or its on-site plus off-site figures
    (HardwareProfile.wue_total_l_per_kwh, as the report uses); None where it has none."""
    wue = profile.wue_total_l_per_kwh
    return None if wue is None else profile.pue * wue
