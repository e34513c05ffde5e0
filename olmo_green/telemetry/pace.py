"""How often the sampler actually sampled: the median interval between its rounds, in O(1) memory.

A loaded host or a slow sensor read (amd-smi over 8 GCDs with 10 ms asked for) makes
rounds further apart than the configured interval. The meter records what it asked for
and what it achieved as a `sampling` event (record/events.py), so that a report can
tell an honest slow sampler from a config.yaml edited after the run
(crosscheck/settings.py).
"""

from __future__ import annotations

import math

# Intervals are counted in log-spaced bins 2**(1/16) wide (about 4.4 %): a run of days at
# 10 ms has 10**7 intervals, which a list would hold in 80 MB; this holds a few hundred counts.
_BINS_PER_OCTAVE = 16


class IntervalTally:
    """The intervals between consecutive round times, their median within about 2 %."""

    def __init__(self) -> None:
        self._counts: dict[int, int] = {}
        self._last_s: float | None = None
        self.count = 0

    def add(self, time_s: float) -> None:
        """A round at `time_s`; equal or earlier times (a clock step back) are no interval."""
        last_s, self._last_s = self._last_s, time_s
        if last_s is None or not time_s > last_s:
            return
        index = math.floor(math.log2(time_s - last_s) * _BINS_PER_OCTAVE)
        self._counts[index] = self._counts.get(index, 0) + 1
        self.count += 1

    def median_s(self) -> float | None:
        """The median interval (its bin's geometric centre), None before two rounds."""
        seen = 0
        for index in sorted(self._counts):
            seen += self._counts[index]
            if 2 * seen >= self.count:
                return 2.0 ** ((index + 0.5) / _BINS_PER_OCTAVE)
        return None
