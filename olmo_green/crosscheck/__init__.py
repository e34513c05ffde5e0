"""Cross-checks inside every record: no part is trusted that another part contradicts.

    counter.py      a device's energy counter against its polled power, window by window
    duplicates.py   a chunk's content hash against every other chunk's (the same samples twice)
    settings.py     config.yaml's sampling interval against the chunks' timestamps
    record.py       steps.csv's energies against the telemetry; the findings as report lines
    identity.py     a run known by its folder, run id and content, not its path (copies: counted once)

`report` fixes what it can and says so in its notes and method; `report --verify`
exits 1 with one line per finding.
"""
