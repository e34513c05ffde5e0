"""The run's clock: UNIX seconds that never jump.

time_s = wall clock at start + monotonic time elapsed since, so samples, step
windows and events stay ordered even if NTP steps the wall clock mid-run; the
wall clock only labels where the run sits in calendar time. The telemetry layer
and the trainer's step-row callback both stamp the record with it.
"""

from __future__ import annotations

import time


class Clock:
    def __init__(self) -> None:
        self.wall0_s = time.time()
        self.mono0_s = time.monotonic()

    def now_s(self) -> float:
        return self.wall0_s + (time.monotonic() - self.mono0_s)
