"""The run record: the only code that knows a run directory's files and how to read and write them.

    layout.py    file names, sample columns, paths (the layout's description is its docstring)
    nodes.py     which nodes wrote samples, their chunks in time order, node-name matching
    chunks.py    sample chunks (Parquet or CSV) -> the sample columns
    steps.py     steps.csv           events.py   events.jsonl
    config.py    config.yaml: RunConfig.load / RunConfig.save
    options.py   the meter's options: config.yaml's telemetry section
    train.py     `olmo-green train`'s configuration: config.yaml's other sections
    csvfile.py   appended CSV files read whatever a kill left
    linelog.py   the writers of steps.csv and events.jsonl (a line a row, flushed)
    summaries.py the chunk summary files (telemetry/<node>.summary|buckets|domains.parquet)

Everything else (telemetry, summaries, reports, dashboards, commands) reads and writes a record
through this package; tests/code/test_record_home.py holds them to it.
"""

from olmo_green.record.chunks import (
    CHUNK_FORMAT,
    MAX_CHUNK_FORMAT,
    chunk_format,
    convert_chunk,
    last_sample_time_s,
    normalise_samples,
    read_sample_chunk,
    read_samples,
)
from olmo_green.record.config import RunConfig
from olmo_green.record.csvfile import read_csv_tolerant
from olmo_green.record.events import (
    EVENT_CHECKPOINT_WRITE,
    EVENT_COUNTER_CHECK,
    EVENT_FORECAST,
    EVENT_GAP_END,
    EVENT_GAP_START,
    EVENT_JOB,
    EVENT_NO_SENSORS,
    EVENT_RECORDS_DROPPED,
    EVENT_REJECTED_SAMPLES,
    EVENT_RESUME_GAP,
    EVENT_SENSORS,
    MAX_DURATION_S,
    SENSORS_COUNTED,
    Events,
    counted_label,
    read_events,
    sensors_line,
)
from olmo_green.record.layout import (
    ACCELERATOR_DOMAINS,
    CHECKPOINTS_DIR,
    CONFIG_FILE,
    DOMAINS,
    EVENTS_FILE,
    METHODS,
    OPEN_CHUNK_SUFFIX,
    REQUIRED_SAMPLE_COLUMNS,
    SAMPLE_COLUMNS,
    SAMPLE_DTYPES,
    STEPS_FILE,
    TELEMETRY_DIR,
    chunk_path,
    closed_csv_path,
    is_run_dir,
    open_chunk_path,
    telemetry_dir,
)
from olmo_green.record.nodes import chunk_listing, match_nodes, node_chunk_paths, node_names, sample_chunks
from olmo_green.record.options import TelemetryOptions
from olmo_green.record.steps import (
    MAX_STEP_TOKENS,
    MFU_INPUTS,
    STEP_COLUMNS,
    STEP_NUMBERS,
    read_steps,
    superseded_steps,
    window_mfu,
)

__all__ = [
    "ACCELERATOR_DOMAINS", "CHECKPOINTS_DIR", "CHUNK_FORMAT", "CONFIG_FILE", "MAX_CHUNK_FORMAT", "DOMAINS",
    "EVENTS_FILE",
    "EVENT_CHECKPOINT_WRITE",
    "EVENT_COUNTER_CHECK", "EVENT_FORECAST", "EVENT_GAP_END", "EVENT_GAP_START", "EVENT_JOB",
    "EVENT_NO_SENSORS",
    "EVENT_RECORDS_DROPPED", "EVENT_REJECTED_SAMPLES", "EVENT_RESUME_GAP", "EVENT_SENSORS", "MAX_DURATION_S",
    "SENSORS_COUNTED", "counted_label", "sensors_line",
    "MAX_STEP_TOKENS", "METHODS", "MFU_INPUTS",
    "OPEN_CHUNK_SUFFIX", "REQUIRED_SAMPLE_COLUMNS", "SAMPLE_COLUMNS",
    "SAMPLE_DTYPES", "STEPS_FILE", "STEP_COLUMNS", "STEP_NUMBERS", "TELEMETRY_DIR", "Events", "RunConfig",
    "TelemetryOptions", "chunk_format", "chunk_listing", "chunk_path", "closed_csv_path", "convert_chunk",
    "is_run_dir",
    "last_sample_time_s",
    "match_nodes", "node_chunk_paths", "node_names", "normalise_samples", "open_chunk_path",
    "read_csv_tolerant", "read_events", "read_sample_chunk", "read_samples", "read_steps", "sample_chunks",
    "superseded_steps", "telemetry_dir", "window_mfu",
]
