"""What the meter shows while the run goes on: a Prometheus endpoint, experiment trackers and a
forecast of the run's total.

All three are fed from the meter's own figures (its tracks and the windows it records), so
they show what the record will hold. None is on unless asked (MeterOptions), and none raises
into training: a port in use or a tracker that fails is one warning, and training goes on.
Where they run: the endpoint on every process that samples a node (it shows that node's
devices); trackers and the forecast on the process that writes the run's shared files (its
window energies are already summed over nodes).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from olmo_green import runrecord as rr
from olmo_green.telemetry.forecast import Forecaster
from olmo_green.telemetry.ledger import Window
from olmo_green.units import J_PER_KWH

if TYPE_CHECKING:
    from olmo_green.telemetry.meter import EnergyMeter

log = logging.getLogger(__name__)


def job_event(time_s: float) -> dict | None:
    """The SLURM job this process runs in (`report --sacct` asks sacct about it); None outside SLURM."""
    job_id = os.environ.get("SLURM_JOB_ID") or os.environ.get("SLURM_JOBID")
    if not job_id:
        return None
    return {"kind": rr.EVENT_JOB, "time_s": time_s, "slurm_job_id": job_id,
            "slurm_cluster": os.environ.get("SLURM_CLUSTER_NAME")}


class LiveOutputs:
    """The meter's live outputs; `open` starts those the options ask for."""

    def __init__(self, meter: EnergyMeter) -> None:
        self.meter = meter
        self.endpoint = None
        self.trackers: list = []
        self.forecaster: Forecaster | None = None
        self.factor: tuple[float, str] | tuple[()] = ()  # (PUE x intensity kg/kWh, basis)
        self.tokens = 0.0  # trained this process, for the endpoint

    @classmethod
    def open(cls, meter: EnergyMeter) -> LiveOutputs:
        from olmo_green.telemetry.callback import headline_factor

        live = cls(meter)
        options, group = meter.options, meter.group
        if options.metrics_port is None and not options.trackers and options.max_steps is None:
            return live
        live.factor = headline_factor(meter.profile)
        if options.metrics_port is not None and group is not None and group.is_sampler:
            from olmo_green.telemetry.metrics import MetricsEndpoint

            live.endpoint = MetricsEndpoint.start(live, options.metrics_host, options.metrics_port)
        if group is None or not group.is_writer:
            return live
        if options.trackers and meter.run_dir is not None:
            from olmo_green.telemetry.trackers import open_trackers

            live.trackers = open_trackers(options.trackers, meter.run_dir, _run_params(meter))
        if options.max_steps is not None:
            live.forecaster = Forecaster(options.max_steps, live.kg_per_kwh, _water_l_per_kwh(meter.profile),
                                         options.forecast_interval_s)
        return live

    @property
    def kg_per_kwh(self) -> float | None:
        """PUE x the headline intensity, for live emissions; None where no intensity is known."""
        return self.factor[0] if self.factor else None

    def on_window(self, window: Window) -> None:
        """A window the meter just recorded (energy summed over nodes); never raises."""
        try:
            self._feed(window)
        except Exception as e:  # a live figure must never stop training
            log.warning("telemetry: live outputs failed on step %s (%s); training continues", window.step, e)

    def _feed(self, window: Window) -> None:
        tokens = window.metrics.get("tokens")
        if window.phase == "train" and isinstance(tokens, (int, float)):
            self.tokens += float(tokens)
        run_j = self.meter.totals.run_j
        if window.phase == "train":
            values = self._step_values(window, run_j)
            for tracker in list(self.trackers):
                try:
                    tracker.log(window.step, values)
                except Exception as e:  # one warning, then the run goes on without that tracker
                    log.warning("%s failed (%s); training continues without it", type(tracker).__name__, e)
                    self.trackers.remove(tracker)
        if self.forecaster is not None:
            forecast = self.forecaster.observe(window, self.meter.totals.phase_j)
            if forecast is not None:
                self.meter._event({"kind": rr.EVENT_FORECAST, "time_s": window.end_s, **forecast.event()})

    def _step_values(self, window: Window, run_j: float) -> dict[str, float]:
        """One step's figures for a tracker: metric names carry their unit."""
        values = {key: float(window.metrics[key]) for key in ("loss", "lr")
                  if isinstance(window.metrics.get(key), (int, float))}
        duration_s = window.end_s - window.start_s
        values["energy/step_j"] = window.energy_j
        if duration_s > 0:
            values["energy/power_w"] = window.energy_j / duration_s
        values["energy/total_kwh"] = run_j / J_PER_KWH
        if self.kg_per_kwh is not None:
            values["energy/emissions_kg_co2e"] = run_j / J_PER_KWH * self.kg_per_kwh
        return values

    def progress_text(self) -> str:
        """The latest forecast, for the progress bar; empty before the first."""
        return self.forecaster.text() if self.forecaster is not None else ""

    def close(self) -> None:
        """Stop the endpoint and close the trackers; never raises."""
        for part in [*self.trackers, self.endpoint]:
            if part is None:
                continue
            try:
                part.close()
            except Exception as e:
                log.warning("telemetry: closing %s failed (%s)", type(part).__name__, e)


def _run_params(meter: EnergyMeter) -> dict[str, str]:
    """What a tracker records about the run (its parameters), all text."""
    params = {"hardware": meter.profile.name, "gpu_type": meter.profile.gpu_type,
              "simulate": str(meter.simulate), "pue": str(meter.profile.pue)}
    return params | {f"tag.{k}": str(v) for k, v in (meter.tags or {}).items()}


def _water_l_per_kwh(profile) -> float | None:
    """Water per kWh of GPU energy (L/kWh): PUE x WUE (docs/design.md: water = GPU energy x PUE x
    WUE), WUE being the profile's published total or its on-site plus off-site figures
    (HardwareProfile.wue_total_l_per_kwh, as the report uses); None where it has none."""
    wue = profile.wue_total_l_per_kwh
    return None if wue is None else profile.pue * wue
