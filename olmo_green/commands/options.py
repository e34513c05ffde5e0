"""Options that several commands share, declared once so that their names, types and help agree."""

from collections.abc import Callable
from typing import TypeVar

import click

from olmo_green.checks import Checked

F = TypeVar("F", bound=Callable)

# The factors of the carbon accounting (olmo_green.carbon.CarbonOptions), in the order --help lists them.
_CARBON = (
    click.option("--hardware", help="Hardware profile whose PUE and intensity apply."),
    click.option("--pue", type=Checked("pue"), help="Power usage effectiveness of the data centre."),
    click.option("--intensity", type=Checked("intensity_kg_per_kwh"),
                 help="Carbon intensity in kg CO2e/kWh."),
    click.option("--country", help="ISO 3166 alpha-3 code: use that country's grid average."),
    click.option("--intensity-series", type=click.Path(), help="Hourly CSV (timestamp, g/kWh)."),
)


def carbon_options(command: F) -> F:
    """--hardware, --pue, --intensity, --country and --intensity-series, as if written above `command`."""
    for option in reversed(_CARBON):  # decorators apply bottom-up
        command = option(command)
    return command
