"""The telemetry clock: UNIX seconds that never jump.

time_s = wall clock at start + monotonic time elapsed since, so samples and
step windows stay ordered even if NTP steps the wall clock mid-run; the wall
clock only labels where the run sits in calendar time.
"""

from __future__ import annotations

import time


class Clock:
    def __init__(self) -> None:
        self.wall0_s = time.time()
        self.mono0_s = time.monotonic()

    def now_s(self) -> float:
        return self.wall0_s + (time.monotonic() - self.mono0_s)

    def from_monotonic_s(self, monotonic_s: float) -> float:
        """A `time.monotonic()` value (as passed to trainer hooks) on this clock."""
        return self.wall0_s + (monotonic_s - self.mono0_s)
