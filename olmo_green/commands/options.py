"""Options that several commands share, declared once so that their names, types and help agree."""

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from olmo_green.checks import Checked

F = TypeVar("F", bound=Callable)

# The factors of the carbon accounting (olmo_green.carbon.CarbonOptions), in the order --help lists them.
def _carbon(hardware_help: str) -> tuple:
    return (
        click.option("--hardware", help=hardware_help),
        click.option("--pue", type=Checked("pue"), help="Power usage effectiveness of the data centre."),
        click.option("--intensity", type=Checked("intensity_kg_per_kwh"),
                     help="Carbon intensity in kg CO2e/kWh."),
        click.option("--country", help="ISO 3166 alpha-3 code: use that country's grid average."),
        click.option("--intensity-series", type=click.Path(), help="Hourly CSV (timestamp, g/kWh)."),
    )


TRACE_FORMATS = ["auto", "record", "nvidia-smi", "dcgm", "prometheus", "amd-smi", "rocm-smi"]

# How a power log is read (olmo_green.traces): `report` and `dashboard` read it alike.
_TRACE = (
    click.option("--trace", type=click.Path(), multiple=True,
                 help="A power log to account for like a run; repeat for several files (one per node)."),
    click.option("--trace-format", default="auto", show_default=True, type=click.Choice(TRACE_FORMATS),
                 help="The log's format; auto sniffs the header and the report names its choice."),
    click.option("--trace-tz", default="UTC", show_default=True,
                 help="Time zone of a log's local timestamps (nvidia-smi): IANA name or offset like "
                      "+02:00."),
    click.option("--trace-devices", type=int, help="GPUs per round of a log without an index column."),
    click.option("--trace-node", help="The node of a single log file (default: from its file name)."),
)


def _apply(options: tuple, command: F) -> F:
    for option in reversed(options):  # decorators apply bottom-up: keep --help's order
        command = option(command)
    return command


def carbon_options(command: F) -> F:
    """--hardware, --pue, --intensity, --country and --intensity-series, as if written above `command`."""
    return _apply(_carbon("Hardware profile whose PUE and intensity apply."), command)


def carbon_options_defaulting_to_run(command: F) -> F:
    """carbon_options, for a command whose --hardware defaults to the run's own profile."""
    return _apply(_carbon("Hardware profile whose PUE and intensity apply (default: the run's)."), command)


def trace_options(command: F) -> F:
    """--trace, --trace-format, --trace-tz, --trace-devices and --trace-node above `command`."""
    return _apply(_TRACE, command)


def trace_files(trace: tuple[str, ...], paths: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`--trace a.csv b.csv`: click takes b.csv as a positional argument; it is a trace file too.
    Returns (traces, what is left of the positional arguments)."""
    if trace and paths and all(Path(p).is_file() for p in paths):
        return (*trace, *paths), ()
    return trace, paths
