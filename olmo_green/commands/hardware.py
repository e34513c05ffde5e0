"""`olmo-green hardware`: the hardware profiles and their cited values."""

import click

from olmo_green.commands._common import not_built


@click.command()
def command() -> None:
    """List the hardware profiles and the sources of their values."""
    not_built("hardware", 5)
