"""The run record: the file layout and columns that connect the parts.

This module is the contract of docs/design.md ("Run records") in code.
Training and telemetry write these files; reports and dashboards read them
through the functions here and never touch live objects or vendor libraries.

    RUN/config.yaml                  resolved configuration, hardware profile included
    RUN/telemetry/<node>.<seq>.parquet   closed sample chunks, seq = 000000, 000001, ...
    RUN/telemetry/<node>.open.csv    the open chunk: appended and flushed as the run goes
    RUN/telemetry/<node>.<seq>.csv   a closed chunk not yet converted to Parquet (read like one)
    RUN/telemetry/<node>.summary.parquet   chunk summaries: one row per chunk and device
    RUN/telemetry/<node>.domains.parquet   ... per chunk, domain (gpu, node, cpu, dram) and time bucket
    RUN/telemetry/<node>.buckets.parquet   ... per chunk, device and time bucket
    RUN/steps.csv                    one row per optimizer step or phase window, appended
    RUN/events.jsonl                 gaps, sensor faults, warnings (one JSON object a line)
    RUN/checkpoints/                 model, optimizer, data position, meter state
    RUN/report.{md,json}, RUN/dashboard.html

Why an open CSV plus Parquet chunks: appending a line and flushing is the
cheapest crash-safe write (a SIGKILL loses at most the unflushed lines, and a
torn last line is dropped on read); closed chunks are rolled into Parquet,
which is ~10x smaller and fast to read, so a month-long run stays compact.

Chunk summaries (olmo_green/summaries). The node's writer summarises each chunk
as it closes it; a reader summarises any chunk without a current summary (a
record from before summaries, one written by another tool in this format, the
open chunk, a CSV chunk left by a kill) and saves it where it can. Reports and
dashboards read the summaries: their cost grows with chunks, buckets and steps,
never with samples. Every row carries its chunk's identity (`chunk` file name,
`chunk_bytes`, `chunk_mtime_ns`) and the settings it was made with (`bucket_s`,
`gap_setting_s`: the gap threshold, -1 for the chunk's own median interval); a
summary whose chunk or settings changed is rebuilt, never used. The raw chunks
stay the ground truth: `olmo-green report RUN --verify` re-integrates them.

    summary  (summaries/build.DEVICE_COLUMNS) node, device, domain, source; rows (samples
             read), counter_readings, counter (1: energy by counter, else integrated
             power), valid (usable samples); first_s, last_s, first_value, last_value
             (the counter's readings, or the power, at the chunk's ends: the next
             chunk's seam is integrated from them, so it is counted once); energy_j;
             gaps, gap_s, resets, peak_w, max_gap_s; chunk_buckets, chunk_domains
             (row counts of the other two files: a save cut short is detected),
             chunk_bad_rows (unreadable rows skipped)
    domains  (DOMAIN_COLUMNS) node, domain, bucket (floor(time_s / bucket_s), epoch-
             aligned so an hour is whole buckets), energy_j (inside the bucket),
             power_w (sum of the devices' mean power), covered_s, devices
    buckets  (BUCKET_COLUMNS) node, device, domain, bucket, energy_j, covered_s, and
             min_w / max_w: the lowest and highest power read in the bucket (what
             the dashboard draws)
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from olmo_green.checks import ABSURD_POWER_W, implausible_times

# Sample columns, units in the names. energy_j is a cumulative counter (may be empty).
SAMPLE_COLUMNS = ["time_s", "node", "device", "domain", "power_w", "energy_j", "source"]
REQUIRED_SAMPLE_COLUMNS = ["time_s", "device"]  # plus one of power_w / energy_j
SAMPLE_DTYPES = {
    "time_s": "float64", "node": "string", "device": "string", "domain": "string",
    "power_w": "float64", "energy_j": "float64", "source": "string",
}
DOMAINS = ("gpu", "cpu", "dram", "node")

# Step columns. `phase` is "train" for an optimizer step; other windows
# ("eval", "checkpoint", "idle") are rows of their own that carry the step they follow.
# `attempt` numbers the processes that wrote the file: 0 for the first, one more per resume
# (see superseded_steps).
STEP_COLUMNS = ["step", "time_start_s", "time_end_s", "tokens", "loss", "lr", "energy_j", "phase", "attempt"]

# Event kinds of events.jsonl: one JSON object a line, its "kind" one of these.
EVENT_SENSORS = "sensors"  # the sources probed at start: found, used, why not
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

# How an energy figure was obtained; reports print it (docs/design.md, Measurement).
METHODS = ("counter", "power_integration", "modelled", "replayed")

CONFIG_FILE = "config.yaml"
STEPS_FILE = "steps.csv"
EVENTS_FILE = "events.jsonl"
TELEMETRY_DIR = "telemetry"
CHECKPOINTS_DIR = "checkpoints"
OPEN_CHUNK_SUFFIX = ".open.csv"
_CHUNK = re.compile(r"^(?P<node>.+)\.(?P<seq>\d{6})\.(?P<ext>parquet|csv)$")


def telemetry_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / TELEMETRY_DIR


def chunk_path(run_dir: str | Path, node: str, seq: int) -> Path:
    """Path of closed sample chunk number `seq` of `node`."""
    return telemetry_dir(run_dir) / f"{node}.{seq:06d}.parquet"


def open_chunk_path(run_dir: str | Path, node: str) -> Path:
    return telemetry_dir(run_dir) / f"{node}{OPEN_CHUNK_SUFFIX}"


def closed_csv_path(run_dir: str | Path, node: str, seq: int) -> Path:
    """A closed chunk waiting for (or interrupted in) its conversion to Parquet."""
    return telemetry_dir(run_dir) / f"{node}.{seq:06d}.csv"


def sample_chunks(run_dir: str | Path, node: str | None = None) -> dict[str, dict[int, Path]]:
    """Closed chunks per node and sequence number; Parquet wins over a leftover CSV."""
    chunks: dict[str, dict[int, Path]] = {}
    folder = telemetry_dir(run_dir)
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        match = _CHUNK.match(path.name)
        if not match or (node is not None and match["node"] != node):
            continue
        seqs = chunks.setdefault(match["node"], {})
        seq = int(match["seq"])
        if match["ext"] == "parquet" or seq not in seqs:
            seqs[seq] = path
    return chunks


def node_names(run_dir: str | Path, closed: dict[str, dict[int, Path]] | None = None) -> list[str]:
    """Nodes that wrote samples to this run (`closed`: sample_chunks's answer, if at hand)."""
    folder = telemetry_dir(run_dir)
    opened = {p.name[: -len(OPEN_CHUNK_SUFFIX)] for p in folder.glob("*" + OPEN_CHUNK_SUFFIX)}
    return sorted(opened | set(sample_chunks(run_dir) if closed is None else closed))


def is_run_dir(path: str | Path) -> bool:
    """True if `path` holds a run record (a config, steps or telemetry)."""
    p = Path(path)
    return p.is_dir() and any((p / name).exists() for name in (CONFIG_FILE, STEPS_FILE, TELEMETRY_DIR))


def read_csv_tolerant(path: Path, columns: list[str]) -> pd.DataFrame:
    """Read an appended CSV; a torn last line (killed mid-write) is dropped.

    Garbage never stops a read: bytes that are not UTF-8 become U+FFFD, a row with
    more fields than the header (a torn line glued to the next) is skipped, a BOM is
    ignored. `frame.attrs["bad_rows"]` counts the data lines that gave no row.
    A file that cannot be read at all (a directory, no permission, no header) is
    an InputFileError of one line.
    """
    from olmo_green.errors import InputFileError

    if path.exists() and not path.is_file():  # a FIFO would block the read forever
        raise InputFileError(f"{path}: not a regular file; a run record holds plain files")
    try:
        text = path.read_bytes().decode("utf-8", errors="replace").removeprefix("\ufeff")
    except OSError as e:
        raise InputFileError(f"{path}: cannot be read ({e.strerror or e})") from e
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    lines = [line for line in text.splitlines() if line.strip()]
    header = [name.strip() for name in lines[0].split(",")] if lines else list(columns)
    if not set(header) & set(columns):
        raise InputFileError(f"{path}: its first line is not a header of {', '.join(columns[:3])}, ...; "
                             "the file is not one olmo-green wrote, or its header was lost")
    if len(lines) <= 1:
        frame = pd.DataFrame(columns=columns)
        frame.attrs["bad_rows"] = 0
        return frame
    from io import StringIO

    # Labels stay text: a device "0" or a node "001" must not become a number.
    labels = {c: "string" for c in ("node", "device", "domain", "source", "phase")}
    frame = pd.read_csv(StringIO("\n".join(lines) + "\n"), dtype=labels, on_bad_lines="skip",
                        skipinitialspace=True)
    frame.attrs["bad_rows"] = len(lines) - 1 - len(frame)
    return frame


def normalise_samples(frame: pd.DataFrame) -> pd.DataFrame:
    for column in SAMPLE_COLUMNS:
        if column not in frame:
            frame[column] = math.nan if SAMPLE_DTYPES[column] == "float64" else pd.NA
    return frame[SAMPLE_COLUMNS].astype(SAMPLE_DTYPES)


def chunk_listing(run_dir: str | Path) -> dict[str, list[Path]]:
    """Every node's chunks in time order (closed by sequence, then the open one), from one
    listing of the folder: a record of 256 nodes and 27,000 chunks is listed once, not per node."""
    closed = sample_chunks(run_dir)
    listing = {}
    for node in node_names(run_dir, closed):
        paths = [path for _, path in sorted(closed.get(node, {}).items())]
        open_path = open_chunk_path(run_dir, node)
        listing[node] = paths + ([open_path] if open_path.exists() else [])
    return listing


def node_chunk_paths(run_dir: str | Path, node: str) -> list[Path]:
    """A node's sample chunks in time order: closed ones by sequence, then the open one."""
    closed = [path for _, path in sorted(sample_chunks(run_dir, node).get(node, {}).items())]
    open_path = open_chunk_path(run_dir, node)
    return closed + ([open_path] if open_path.exists() else [])


def read_sample_chunk(path: Path) -> tuple[pd.DataFrame, int]:
    """One chunk's samples in the sample columns, and how many bad rows were skipped.

    A CSV chunk (the open one, or one a kill left unconverted) may hold a torn line
    glued to the next (too many fields) or text in a numeric column; any chunk may
    hold a time that is not a number, or a power or counter that is infinite or
    negative, or a time that is not UNIX seconds. Such rows are skipped and counted, never
    read as numbers.
    Raises OSError or ValueError for a file that cannot be read at all.
    """
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        _require_sample_columns(frame)
        return _plausible_rows(normalise_samples(frame), 0)
    text = path.read_text(encoding="utf-8", errors="replace")
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]  # a torn last line: the writer was killed mid-line
    lines = [line for line in text.splitlines()[1:] if line.strip()]
    if not lines:
        return normalise_samples(pd.DataFrame(columns=SAMPLE_COLUMNS)), 0
    from io import StringIO

    frame = pd.read_csv(StringIO(text), dtype=str, on_bad_lines="skip", keep_default_na=False)
    _require_sample_columns(frame)
    unparsable = pd.Series(False, index=frame.index)
    for column in ("time_s", "power_w", "energy_j"):
        if column in frame:
            text_values = frame[column].str.strip()
            numbers = pd.to_numeric(text_values, errors="coerce")
            unparsable |= numbers.isna() & (text_values != "")
            frame[column] = numbers
    frame = frame[~unparsable].replace("", pd.NA)
    return _plausible_rows(normalise_samples(frame), len(lines) - len(frame))


def _require_sample_columns(frame: pd.DataFrame) -> None:
    """A chunk without a time, a device, or any reading is not a sample chunk (a renamed column
    would read as no energy, a missing device as one device of all): it is unreadable, named."""
    missing = [c for c in REQUIRED_SAMPLE_COLUMNS if c not in frame]
    if not {"power_w", "energy_j"} & set(frame):
        missing.append("power_w or energy_j")
    if missing:
        raise ValueError(f"no {', '.join(missing)} column (columns: {', '.join(map(str, frame.columns))})")


def _plausible_rows(frame: pd.DataFrame, bad: int) -> tuple[pd.DataFrame, int]:
    """Drop rows no sensor can have written: a time that is not UNIX seconds (none, milliseconds,
    a clock never set: the rule traces and steps follow, checks.implausible_times), an infinite
    or negative reading, a power above any device's (checks.ABSURD_POWER_W), or no device.
    Integrating milliseconds as seconds would be 1000x wrong; a device-less row would merge
    devices into one curve."""
    time_s = frame["time_s"].to_numpy(dtype=float)
    values = frame[["power_w", "energy_j"]].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        wrong = implausible_times(time_s) | np.isinf(values).any(axis=1) | (values < 0).any(axis=1)
        wrong |= frame["power_w"].to_numpy(dtype=float) > ABSURD_POWER_W  # no device draws 20 kW
    device = frame["device"].astype("string").str.strip()
    wrong |= (device.isna() | (device == "")).to_numpy(dtype=bool)  # samples of no device: never merged
    if not wrong.any():
        return frame, bad
    return frame[~wrong].reset_index(drop=True), bad + int(wrong.sum())


def read_samples(run_dir: str | Path, node: str | None = None) -> pd.DataFrame:
    """All samples of a run (or of one node), sorted by node, device and time."""
    frames = []
    for name in [node] if node else node_names(run_dir):
        for _, path in sorted(sample_chunks(run_dir, name).get(name, {}).items()):
            frames.append(pd.read_parquet(path) if path.suffix == ".parquet"
                          else read_csv_tolerant(path, SAMPLE_COLUMNS))
        if open_chunk_path(run_dir, name).exists():
            frames.append(read_csv_tolerant(open_chunk_path(run_dir, name), SAMPLE_COLUMNS))
    frames = [normalise_samples(f) for f in frames if len(f)]
    if not frames:
        return normalise_samples(pd.DataFrame(columns=SAMPLE_COLUMNS))
    samples = pd.concat(frames, ignore_index=True)
    return samples.sort_values(["node", "device", "time_s"], kind="stable", ignore_index=True)


STEP_NUMBERS = ["step", "time_start_s", "time_end_s", "tokens", "loss", "lr", "energy_j", "attempt"]
MAX_STEP_TOKENS = 1e10  # tokens in one step: 2,500x OLMo 7B's 4M-token batches is no step


def read_steps(run_dir: str | Path) -> pd.DataFrame:
    """The step file of a run: one row per optimizer step or phase window.

    Every column of STEP_COLUMNS is there (missing ones are empty; a file from before
    the `attempt` column reads as attempt 0 throughout), numbers are numbers. Garbage
    rows are dropped and counted in `steps.attrs["dropped_rows"]`: the report and the
    dashboard read steps here, so both drop and count the same rows (see
    reports/steps.py, steps_notes). A row is garbage if it does not parse (too many
    fields, a torn line), holds text where a number belongs, has no step number, a
    negative or absurd token count, a window that ends before it starts, or an
    infinite value. An empty cell is not garbage: it is unknown.
    """
    path = Path(run_dir) / STEPS_FILE
    if not path.exists():
        steps = pd.DataFrame(columns=STEP_COLUMNS)
        steps.attrs["dropped_rows"] = 0
        return steps
    steps = read_csv_tolerant(path, STEP_COLUMNS)
    bad_rows = steps.attrs.get("bad_rows", 0)
    for column in STEP_COLUMNS:
        if column not in steps:
            steps[column] = pd.NA if column == "phase" else math.nan
    garbage = pd.Series(False, index=steps.index)
    for column in STEP_NUMBERS:
        raw = steps[column]
        numbers = pd.to_numeric(raw, errors="coerce")
        garbage |= (raw.notna() & numbers.isna()) | numbers.isin([math.inf, -math.inf])  # text, inf
        steps[column] = numbers.astype(float)
    tokens, start, end = steps["tokens"], steps["time_start_s"], steps["time_end_s"]
    step = steps["step"]
    garbage |= step.isna() | (step < 0) | (step % 1 != 0)
    garbage |= (tokens < 0) | (tokens > MAX_STEP_TOKENS) | (end < start)
    steps = steps.loc[~garbage, STEP_COLUMNS].reset_index(drop=True)
    steps["attempt"] = steps["attempt"].fillna(0).astype(int)
    steps["phase"] = steps["phase"].astype("string").fillna("train")  # a window's phase defaults to train
    steps.attrs["dropped_rows"] = int(bad_rows + garbage.sum())
    return steps


def superseded_steps(steps: pd.DataFrame) -> pd.Series:
    """True for the rows of steps a later attempt redid.

    An attempt resumed from the checkpoint at step S trains steps S+1, S+2, ...:
    S is one less than its first train step. A row of an earlier attempt with a
    step after S was redone (the model state it belonged to was rolled back). Its
    energy was really spent, so it still counts as energy; its tokens are not
    counted twice. An attempt with no train row redid nothing.
    """
    if steps.empty or "attempt" not in steps or "step" not in steps:
        return pd.Series(False, index=steps.index)
    attempt = pd.to_numeric(steps["attempt"], errors="coerce").fillna(0).to_numpy(int)
    step = pd.to_numeric(steps["step"], errors="coerce").to_numpy(float)
    train = (steps["phase"] == "train").to_numpy()
    resumed_from: dict[int, float] = {}
    for a, s in zip(attempt[train], step[train], strict=True):
        resumed_from[a] = min(resumed_from.get(a, math.inf), s - 1)
    # For each attempt: the earliest resume point of any later attempt.
    later_min, running = {}, math.inf
    for a in sorted(set(attempt.tolist()), reverse=True):
        later_min[a] = running
        running = min(running, resumed_from.get(a, math.inf))
    limit = [later_min[a] for a in attempt]
    return pd.Series(step > limit, index=steps.index)


class Events(list):
    """The events of a run, and how many lines of events.jsonl were skipped as garbage."""

    skipped: int = 0


# The longest duration an event may give: from 2000 (checks.EARLIEST_UNIX_S) to about now.
MAX_DURATION_S = 30 * 366 * 86_400.0
# Fields whose type a reader relies on, per event kind: a line with another type is skipped.
_EVENT_NUMBERS = {EVENT_GAP_END: ("duration_s",), EVENT_RESUME_GAP: ("duration_s",),
                  EVENT_RECORDS_DROPPED: ("rows",), EVENT_FORECAST: ("at_step", "energy_mwh_at_end"),
                  EVENT_CHECKPOINT_WRITE: ("duration_s",)}


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
    from olmo_green.errors import InputFileError

    if not path.is_file():
        raise InputFileError(f"{path}: not a regular file; a run record holds plain files")
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as e:
        raise InputFileError(f"{path}: cannot be read ({e.strerror or e})") from e
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
