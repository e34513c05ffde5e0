"""Step metrics: the step file of the run record, a UNIX-anchored monotonic clock, MFU.

Step rows use the run record's columns (olmo_green/runrecord.py, STEP_COLUMNS).
The trainer fills all but `energy_j`, which a callback may supply through its
`step_fields` hook; a column nobody fills stays empty, never zero.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

from olmo_green.model.config import OLMoConfig
from olmo_green.runrecord import STEP_COLUMNS, read_csv_tolerant


class Clock:
    """UNIX seconds measured with time.monotonic(): labels match sample files, intervals never jump."""

    def __init__(self) -> None:
        self._wall0, self._mono0 = time.time(), time.monotonic()

    def unix(self, monotonic_s: float | None = None) -> float:
        mono = time.monotonic() if monotonic_s is None else monotonic_s
        return self._wall0 + (mono - self._mono0)


class StepsFile:
    """Appends one flushed row per step or window, so a kill loses at most the last row."""

    def __init__(self, path: Path, resume_after_step: int | None = None):
        self.path = path
        if resume_after_step is not None and path.exists():
            self._truncate_after(resume_after_step)
        new = not path.exists() or path.stat().st_size == 0
        self._file = path.open("a", encoding="utf-8", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=STEP_COLUMNS, extrasaction="ignore")
        if new:
            self._writer.writeheader()
            self._file.flush()

    def _truncate_after(self, step: int) -> None:
        """Rows after the checkpoint we resume from are redone: drop them (tmp + rename)."""
        rows = read_csv_tolerant(self.path, STEP_COLUMNS)
        rows = rows[rows["step"] <= step]
        tmp = self.path.with_suffix(".tmp")
        rows.to_csv(tmp, index=False, columns=STEP_COLUMNS)
        tmp.replace(self.path)

    def write(self, row: dict[str, Any]) -> None:
        self._writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def flops_per_token(config: OLMoConfig, sequence_length: int) -> float:
    """Training FLOPs per token: 6 x matmul parameters + attention (PaLM, appendix B).

    Matmul parameters exclude the input embedding (a lookup) but include the output head.
    Attention is 12 x d_model FLOPs per key a query sees, per layer: the whole sequence,
    or a sliding-window layer's window when that is shorter (OLMo-core's
    Attention.num_flops_per_token counts min(window, sequence) the same way).
    """
    head = config.embedding_size * config.d_model
    matmul_params = config.n_layers * config.block_matmul_params() + head
    keys = sum(min(config.window(i) or sequence_length, sequence_length) for i in range(config.n_layers))
    attention = 12 * config.d_model * keys
    return 6.0 * matmul_params + attention


def mfu(tokens_per_s: float, flops_token: float, peak_flops_per_device: float | None,
        world_size: int) -> float | None:
    """Model FLOPs utilisation, or None where the device's peak is unknown (CPU)."""
    if not peak_flops_per_device:
        return None
    return tokens_per_s * flops_token / (peak_flops_per_device * world_size)
