"""The --trace options `report` and `dashboard` share: one declaration, so both read a power log alike."""

from __future__ import annotations

from collections.abc import Callable

import click

TRACE_FORMATS = ["auto", "record", "nvidia-smi", "dcgm", "prometheus", "amd-smi", "rocm-smi"]


def trace_options(command: Callable) -> Callable:
    """Add --trace, --trace-format, --trace-tz, --trace-devices and --trace-node to a click command."""
    options = [
        click.option("--trace", type=click.Path(), multiple=True,
                     help="A power log to account for like a run; repeat for several files (one per node)."),
        click.option("--trace-format", default="auto", show_default=True, type=click.Choice(TRACE_FORMATS),
                     help="The log's format; auto sniffs the header and the report names its choice."),
        click.option("--trace-tz", default="UTC", show_default=True,
                     help="Time zone of a log's local timestamps (nvidia-smi): IANA name or offset like "
                          "+02:00."),
        click.option("--trace-devices", type=int, help="GPUs per round of a log without an index column."),
        click.option("--trace-node", help="The node of a single log file (default: from its file name)."),
    ]
    for option in reversed(options):  # click applies the last decorator first: keep --help's order
        command = option(command)
    return command


def trace_files(trace: tuple[str, ...], paths: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`--trace a.csv b.csv`: click takes b.csv as a positional argument; it is a trace file too.
    Returns (traces, what is left of the positional arguments)."""
    from pathlib import Path

    if trace and paths and all(Path(p).is_file() for p in paths):
        return (*trace, *paths), ()
    return trace, paths
