"""The config's recorded settings against what the chunks show.

config.yaml's `telemetry.sampling_interval_s` sets the gap threshold
(GAP_FACTOR intervals) every chunk is integrated with. A value altered after the
run (or a wrong one written by another tool) turns every interval into a gap, or
every gap into energy. The chunks' own timestamps say how often the run sampled:
where the config's interval is off from that by more than GAP_FACTOR, the
chunks' interval is used and the contradiction is a finding.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from olmo_green import record as rr
from olmo_green.integrate import GAP_FACTOR
from olmo_green.record.summaries import stored_intervals_s


def observed_interval_s(run_dir: str | Path) -> float | None:
    """The median sample interval of the record's first node: its stored summaries' (any setting),
    else its first chunk's timestamps (one chunk read); None where neither tells."""
    listing = rr.chunk_listing(run_dir)
    if not listing:
        return None
    node, paths = next(iter(listing.items()))
    stored = stored_intervals_s(run_dir, node)  # None: none stored, or of the old format: read a chunk
    if stored is not None and len(stored):
        return float(np.median(stored))
    for path in paths[:1]:
        try:
            samples, _ = rr.read_sample_chunk(path)
        except (OSError, ValueError, UnicodeError):
            return None
        intervals = [np.diff(np.unique(rows["time_s"].to_numpy(float)))
                     for _, rows in samples.groupby("device", sort=False)]
        intervals = np.concatenate(intervals) if intervals else np.zeros(0)
        return float(np.median(intervals)) if len(intervals) else None
    return None


def interval_contradiction(config_s: float, observed_s: float | None) -> str | None:
    """A finding where the config's interval would misjudge gaps in the chunks by GAP_FACTOR or more."""
    if observed_s is None or not np.isfinite(observed_s) or observed_s <= 0:
        return None
    # Only a config that claims faster sampling than the chunks show is flagged: it would turn real
    # intervals into gaps and drop their energy (finding 3). Samples denser than the config are normal
    # (the meter also reads at every step boundary, so a short run's median interval is tiny).
    if observed_s > GAP_FACTOR * config_s:
        return (f"config.yaml says telemetry.sampling_interval_s {config_s:g} s but the chunks sample every "
                f"{observed_s:.3g} s (median): the chunks' interval is used for gaps; correct config.yaml")
    return None
