"""`olmo-green sensors`: what this machine can measure, and how."""

import click

from olmo_green.commands._common import not_built


@click.command()
@click.option("--hardware", default="local", show_default=True, help="Hardware profile.")
def command(**options) -> None:
    """List the energy sensors found here, each one's method and update interval."""
    not_built("sensors", 4)
