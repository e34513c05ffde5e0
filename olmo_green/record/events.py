"""The event file, events.jsonl: gaps, sensor faults and warnings, one JSON object a line."""

from __future__ import annotations

import json
import math
from pathlib import Path

from olmo_green.record.csvfile import read_text
from olmo_green.record.layout import EVENTS_FILE

# Event kinds of events.jsonl: one JSON object a line, its "kind" one of these.
# The sources probed at start: found, used, why not; and time_s, taken before the meter's baseline
# sample (records before it have none; crosscheck/lifespan.py does not judge their start).
EVENT_SENSORS = "sensors"
# In a sensors event, each used source's devices that its meter reads ("domain/device"): an MI250X
# secondary GCD is listed but not counted (crosscheck/sensors.py holds the samples against it).
SENSORS_COUNTED = "counted"
EVENT_NO_SENSORS = "no_sensors"  # none found: the run has no energy figures
EVENT_GAP_START = "gap_start"  # a source failed; its samples stop (time_s, error)
EVENT_GAP_END = "gap_end"  # it recovered (time_s, duration_s)
EVENT_RESUME_GAP = "resume_gap"  # a resumed run: the time its record was down (time_s, duration_s)
EVENT_REJECTED_SAMPLES = "rejected_samples"  # implausible values dropped, per reason (counts)
EVENT_RECORDS_DROPPED = "records_dropped"  # rows a writer could not write (file, rows, error)
EVENT_COUNTER_CHECK = "counter_check"  # a counter against integrated power, at the end
EVENT_CHECKPOINT_WRITE = "checkpoint_write"  # a background checkpoint write ended (step, duration_s)
# A process that samples a node ran inside a SLURM job (slurm_job_id, slurm_cluster, node), at start.
EVENT_JOB = "job"
# The meter's projection of the run's total (at_step, energy_mwh_at_end, emissions_tco2eq_at_end,
# water_kl_at_end; GPU energy, headline intensity x PUE), at most every forecast_interval_s.
EVENT_FORECAST = "forecast"
# What the meter's sampler was asked for and achieved on a node (requested_interval_s,
# achieved_interval_s: the median interval between its rounds so far): at close, and at the
# first flush where the two are more than GAP_FACTOR apart (crosscheck/settings.py reads it).
EVENT_SAMPLING = "sampling"
# In a sampling event, true where close() wrote it, after the sampler's last round: the node's meter
# stopped sampling at its time_s (crosscheck/lifespan.py). Absent mid-run and in older records.
SAMPLING_CLOSING = "closing"


def counted_label(domain: str, device: str) -> str:
    """A device as a sensors event's `counted` list names it."""
    return f"{domain}/{device}"


def sensors_line(source: str, used: bool, devices: list, reason: str) -> dict:
    """One probed source in a sensors event (devices: its DeviceInfo-like objects); a used source
    lists the devices it counts."""
    line: dict = {"source": source, "used": used, "devices": len(devices), "reason": reason}
    if used:
        line[SENSORS_COUNTED] = [counted_label(d.domain, d.device) for d in devices if d.counted]
    return line


class Events(list):
    """The events of a run, and how many lines of events.jsonl were skipped as garbage."""

    skipped: int = 0


# The longest duration an event may give: from 2000 (checks.EARLIEST_UNIX_S) to about now.
MAX_DURATION_S = 30 * 366 * 86_400.0
# Fields whose type a reader relies on, per event kind: a line with another type is skipped.
# A sensors or sampling event's time_s is not among them: a malformed one would drop the event's
# sensors (the sensors check would then refuse the node); crosscheck/lifespan.py ignores the time.
_EVENT_NUMBERS = {EVENT_GAP_END: ("duration_s",), EVENT_RESUME_GAP: ("duration_s",),
                  EVENT_RECORDS_DROPPED: ("rows",), EVENT_FORECAST: ("at_step", "energy_mwh_at_end"),
                  EVENT_CHECKPOINT_WRITE: ("duration_s",),
                  EVENT_SAMPLING: ("requested_interval_s", "achieved_interval_s")}


def read_events(run_dir: str | Path) -> Events:
    """Recorded gaps, faults and warnings; a torn last line is dropped.

    A line that is not a JSON object with a text `kind`, or whose fields a reader
    relies on have the wrong type (a negative, infinite or text duration or row count,
    counts that are not whole numbers of at least 0), is skipped and counted in
    `events.skipped` (reports/steps.py, steps_notes, says so).
    """
    path = Path(run_dir) / EVENTS_FILE
    events = Events()
    if not path.exists():
        return events
    text = read_text(path)
    lines = text.splitlines()
    torn = bool(text) and not text.endswith("\n")  # the last line of a killed writer
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            if not (torn and number == len(lines)):
                events.skipped += 1
            continue
        if _well_formed(event):
            events.append(event)
        else:
            events.skipped += 1
    return events


def _well_formed(event: object) -> bool:
    if not isinstance(event, dict) or not isinstance(event.get("kind"), str):
        return False
    for name in _EVENT_NUMBERS.get(event["kind"], ()):
        if name in event and not _count_like(event[name]):
            return False
    duration_s = event.get("duration_s", 0.0)
    if _count_like(duration_s) and duration_s > MAX_DURATION_S:
        return False  # longer than any run's record can span: no clock wrote it
    if event["kind"] == EVENT_REJECTED_SAMPLES:
        counts = event.get("counts")
        return isinstance(counts, dict) and all(_count_like(n, whole=True) for n in counts.values())
    return True


def _count_like(value: object, whole: bool = False) -> bool:
    """A finite number of at least 0 (a whole one if `whole`); bools and text are not."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if not math.isfinite(value) or value < 0:
        return False
    # a whole count beyond 2**53 (9e15) is no count any record holds, and not exact in JSON: garbage
    return not whole or (float(value).is_integer() and value <= 2**53)
