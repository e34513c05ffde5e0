"""`olmo-green dashboard`: a self-contained Plotly page of power over steps."""

import click

from olmo_green.commands._common import not_built


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", type=click.Path(), help="HTML file to write.")
def command(**options) -> None:
    """Build a Plotly dashboard of power, energy and emissions over steps."""
    not_built("dashboard", 6)
