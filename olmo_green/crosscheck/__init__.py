"""Cross-checks inside every record: no part is trusted that another part contradicts.

    counter.py      a device's energy counter against its polled power, window by window (power
                    replaces a counter that broke; a column altered throughout is refused)
    duplicates.py   a chunk's content hash against every other chunk's (the same samples twice),
                    and a node's chunks against each other in time (a shifted copy)
    sensors.py      the telemetry's nodes and devices against each node's sensors event (which
                    the chunks' mark promises); power no sensor gives (above 3x the package TDP)
    settings.py     config.yaml's sampling interval against the chunks' timestamps
    gaps.py         events.jsonl's gap_start/gap_end against the samples (a gap they ran through)
    lifespan.py     each node's samples against when its meter ran (sensors to closing sampling event)
    mfu.py          steps.csv's mfu cells against their rows' tokens and windows
    record.py       steps.csv's energies against the telemetry; the findings as report lines
    windows.py      steps.csv's windows against the telemetry's time span (another run's, a killed run's)

`report` fixes what it can and says so in its notes and method; `report --verify`
exits 1 with one line per finding. Which inputs are the same run (a copy, a symlink) is
summaries/identity.py: it compares runs by their summarised chunks.
"""

from olmo_green.crosscheck.mfu import mfu_findings

__all__ = ["mfu_findings"]
