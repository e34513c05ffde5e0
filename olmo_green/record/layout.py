"""The run record's layout: file names, columns and paths, the one place that knows them.

This package (olmo_green/record/) is the contract of docs/design.md ("Run records") in code.
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

    summary  (record/summaries.DEVICE_COLUMNS) node, device, domain, source; rows (samples
             read), counter_readings, counter (1: energy by counter, else integrated
             power), valid (usable samples); first_s, last_s, first_value, last_value
             (the counter's readings, or the power, at the chunk's ends: the next
             chunk's seam is integrated from them, so it is counted once); energy_j;
             gaps, gap_s, resets, peak_w, max_gap_s; chunk_buckets, chunk_domains
             (row counts of the other two files: a save cut short is detected),
             chunk_bad_rows (unreadable rows skipped)
    domains  (DOMAIN_COLUMNS) node, domain, bucket (floor(time_s / bucket_s), epoch-
             aligned so an hour is whole buckets), energy_j (inside the bucket),
             power_w (sum of the devices' mean power), covered_s, devices, and
             ceiling_w / floor_w: the most and least power the domain can have
             drawn in the bucket (summaries/bounds.py; inf and 0 where unknown)
    buckets  (BUCKET_COLUMNS) node, device, domain, bucket, energy_j, covered_s, and
             min_w / max_w: the lowest and highest power read in the bucket (what
             the dashboard draws)
"""

from __future__ import annotations

from pathlib import Path

# Sample columns, units in the names. energy_j is a cumulative counter (may be empty).
SAMPLE_COLUMNS = ["time_s", "node", "device", "domain", "power_w", "energy_j", "source"]
REQUIRED_SAMPLE_COLUMNS = ["time_s", "device"]  # plus one of power_w / energy_j
SAMPLE_DTYPES = {
    "time_s": "float64", "node": "string", "device": "string", "domain": "string",
    "power_w": "float64", "energy_j": "float64", "source": "string",
}
DOMAINS = ("gpu", "cpu", "dram", "node")
# Domains counted as accelerators: gpu, and none (a trace or chunk without a domain holds
# accelerators; a missing value reads as "", "nan" or "<NA>" by the path it took).
ACCELERATOR_DOMAINS = ("gpu", "", "nan", "<NA>")


# How an energy figure was obtained; reports print it (docs/design.md, Measurement).
METHODS = ("counter", "power_integration", "modelled", "replayed")

CONFIG_FILE = "config.yaml"
STEPS_FILE = "steps.csv"
EVENTS_FILE = "events.jsonl"
TELEMETRY_DIR = "telemetry"
CHECKPOINTS_DIR = "checkpoints"
OPEN_CHUNK_SUFFIX = ".open.csv"


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



def is_run_dir(path: str | Path) -> bool:
    """True if `path` holds a run record (a config, steps or telemetry)."""
    p = Path(path)
    return p.is_dir() and any((p / name).exists() for name in (CONFIG_FILE, STEPS_FILE, TELEMETRY_DIR))

