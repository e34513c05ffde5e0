"""The run's total, forecast while it trains.

Once the energy per token has settled (WARMUP_STEPS steps in a row within STABLE_SPREAD of
their median: the first steps compile, allocate and warm caches), the total GPU energy at
`max_steps` is projected as

    energy so far + steps left x (mean energy of the last RECENT_STEPS steps (none before warmup)
                                  + energy outside steps per step so far)

The second term counts eval, checkpoint and idle windows at the rate they have been seen
since the first step (setup before the first step is not a rate and is left out of it).
Emissions and water follow from the energy with the live factors (PUE x the headline
intensity; PUE x WUE), as the progress bar's running figures do; the report recomputes
both from the record and says how far the first forecast was (reports/forecastcheck.py).
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from dataclasses import dataclass

from olmo_green import record as rr
from olmo_green.carbon.intensity import emissions_kg
from olmo_green.telemetry.ledger import Window
from olmo_green.telemetry.outputs import LiveOutput, LiveSnapshot
from olmo_green.units import J_PER_KWH, KG_PER_T, KWH_PER_MWH, L_PER_KL

WARMUP_STEPS = 5  # steps whose energy per token must agree before the first forecast
STABLE_SPREAD = 0.2  # each within 20 % of their median
RECENT_STEPS = 20  # steps whose mean energy is projected


@dataclass(frozen=True)
class Forecast:
    at_step: int
    max_steps: int
    energy_j_at_end: float  # GPU energy, all nodes, before PUE
    emissions_kg_at_end: float | None  # x PUE x headline intensity; None where none is known
    water_l_at_end: float | None  # x PUE x WUE; None where the profile gives no WUE

    def event(self) -> dict:
        """The fields of a `forecast` event (record.EVENT_FORECAST), in the record's units."""
        fields = {"at_step": self.at_step, "max_steps": self.max_steps,
                  "energy_mwh_at_end": self.energy_j_at_end / J_PER_KWH / KWH_PER_MWH,
                  "emissions_tco2eq_at_end": None if self.emissions_kg_at_end is None
                  else self.emissions_kg_at_end / KG_PER_T}
        if self.water_l_at_end is not None:
            fields["water_kl_at_end"] = self.water_l_at_end / L_PER_KL
        return fields


class Forecaster:
    def __init__(self, max_steps: int, kg_per_kwh: float | None, water_l_per_kwh: float | None,
                 interval_s: float) -> None:
        self.max_steps, self.interval_s = max_steps, interval_s
        self.kg_per_kwh, self.water_l_per_kwh = kg_per_kwh, water_l_per_kwh
        self.per_token = deque(maxlen=WARMUP_STEPS)  # J/token (J/step where tokens are unknown)
        self.step_j = deque(maxlen=RECENT_STEPS)
        self.steps_seen = 0
        self.outside_j = 0.0  # energy of non-train windows after the first step seen
        self.warm = False
        self.latest: Forecast | None = None
        self._last_s = -float("inf")

    def observe(self, window: Window, phase_j: dict[str, float]) -> Forecast | None:
        """Take a recorded window; return a forecast when one is due (at most every interval_s)."""
        if window.phase != "train":
            if self.steps_seen:
                self.outside_j += window.energy_j
            return None
        self.steps_seen += 1
        self.step_j.append(window.energy_j)
        tokens = window.metrics.get("tokens")
        per = window.energy_j / tokens if isinstance(tokens, (int, float)) and tokens > 0 else window.energy_j
        self.per_token.append(per)
        if not self.warm and _stable(self.per_token):
            self.warm = True  # the steps before the stable stretch (compiling, warming up) are not the rate
            for _ in range(len(self.step_j) - WARMUP_STEPS):
                self.step_j.popleft()
        now_s = time.monotonic()
        if not self.warm or window.step >= self.max_steps or now_s - self._last_s < self.interval_s:
            return None
        self._last_s = now_s
        self.latest = self._project(window.step, sum(phase_j.values()))
        return self.latest

    def _project(self, step: int, run_j: float) -> Forecast:
        per_step_j = statistics.fmean(self.step_j) + self.outside_j / self.steps_seen
        energy_j = run_j + (self.max_steps - step) * per_step_j
        kwh = energy_j / J_PER_KWH
        return Forecast(step, self.max_steps, energy_j,  # PUE is in the live factors
                        None if self.kg_per_kwh is None else emissions_kg(energy_j, 1.0, self.kg_per_kwh),
                        None if self.water_l_per_kwh is None else kwh * self.water_l_per_kwh)

    def text(self) -> str:
        """The latest forecast in a few words, for the progress bar."""
        f = self.latest
        if f is None:
            return ""
        text = f"forecast at step {f.max_steps}: {f.energy_j_at_end / J_PER_KWH:.4g} kWh"
        if f.emissions_kg_at_end is not None:
            text += f", {f.emissions_kg_at_end:.3g} kg CO2e"
        return text


class ForecastOutput(LiveOutput):
    """The forecaster as a live output: a due forecast becomes a `forecast` event."""

    def __init__(self, forecaster: Forecaster) -> None:
        self.forecaster = forecaster

    def on_window(self, snapshot: LiveSnapshot) -> list[dict]:
        if snapshot.window is None:
            return []
        forecast = self.forecaster.observe(snapshot.window, snapshot.phase_j)
        if forecast is None:
            return []
        return [{"kind": rr.EVENT_FORECAST, "time_s": snapshot.window.end_s, **forecast.event()}]

    def progress_text(self) -> str:
        return self.forecaster.text()


def _stable(values: deque) -> bool:
    if len(values) < WARMUP_STEPS:
        return False
    median = statistics.median(values)
    return median > 0 and all(abs(v - median) <= STABLE_SPREAD * median for v in values)
