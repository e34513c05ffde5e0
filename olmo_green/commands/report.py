"""`olmo-green report`: the emissions table of one or more runs or traces."""

import click

from olmo_green.commands._common import not_built


@click.command()
@click.argument("run_dirs", nargs=-1, type=click.Path())
@click.option("--trace", type=click.Path(), help="A power/energy trace CSV to account for like a run.")
@click.option("--hardware", help="Hardware profile whose PUE and intensity apply.")
@click.option("--pue", type=float, help="Power usage effectiveness of the data centre.")
@click.option("--intensity", type=float, help="Carbon intensity in kg CO2e/kWh.")
@click.option("--country", help="ISO 3166 alpha-3 code: use that country's grid average.")
@click.option("--intensity-series", type=click.Path(), help="Hourly CSV (timestamp, g/kWh).")
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "json", "latex"]), default="md",
              show_default=True)
@click.option("-o", "--output", type=click.Path(), help="Write here instead of stdout.")
def command(**options) -> None:
    """Report the energy and emissions of runs, like the OLMo model card's table."""
    not_built("report", 5)
