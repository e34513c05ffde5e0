"""The meter's run-wide totals: what a checkpoint stores so that `--resume` continues them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Totals:
    phase_j: dict[str, float] = field(default_factory=dict)  # accelerator energy per phase, all nodes
    windows: int = 0
    power_w: float = 0.0  # latest, all nodes; not saved

    @property
    def run_j(self) -> float:
        return sum(self.phase_j.values())

    def add(self, phase: str, energy_j: float) -> None:
        self.phase_j[phase] = self.phase_j.get(phase, 0.0) + energy_j
        self.windows += 1

    def state_dict(self) -> dict:
        return {"phase_j": dict(self.phase_j), "windows": self.windows}

    def load_state_dict(self, state: dict) -> None:
        self.phase_j = {str(k): float(v) for k, v in state.get("phase_j", {}).items()}
        self.windows = int(state.get("windows", 0))
