"""`olmo-green report`: the emissions table of one or more runs or traces."""

import click

from olmo_green.checks import Checked


@click.command()
@click.argument("run_dirs", nargs=-1, type=click.Path())
@click.option("--trace", type=click.Path(), help="A power/energy trace CSV to account for like a run.")
@click.option("--hardware", help="Hardware profile whose PUE and intensity apply.")
@click.option("--pue", type=Checked("pue"), help="Power usage effectiveness of the data centre.")
@click.option("--intensity", type=Checked("intensity_kg_per_kwh"), help="Carbon intensity in kg CO2e/kWh.")
@click.option("--country", help="ISO 3166 alpha-3 code: use that country's grid average.")
@click.option("--intensity-series", type=click.Path(), help="Hourly CSV (timestamp, g/kWh).")
@click.option("--wue", type=Checked("wue_l_per_kwh"),
              help="Water usage effectiveness in L/kWh, on-site + off-site (default: the profile's).")
@click.option("--by", "by", metavar="KEY",
              help="Roll runs up by the value of this tag (train --tag KEY=VALUE).")
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "json", "latex"]), default="md",
              show_default=True)
@click.option("-o", "--output", type=click.Path(), help="Write here instead of stdout.")
def command(run_dirs: tuple[str, ...], trace: str | None, hardware: str | None, pue: float | None,
            intensity: float | None, country: str | None, intensity_series: str | None, wue: float | None,
            by: str | None, fmt: str, output: str | None) -> None:
    """Report the energy and emissions of runs, like the OLMo model card's table."""
    from olmo_green.errors import ConfigError
    from olmo_green.reports import account_many

    if run_dirs and trace:  # a trace is accounted for instead of a run's telemetry, never beside it
        raise ConfigError(f"give RUN_DIR ... or --trace FILE, not both ({run_dirs[0]} and --trace {trace}); "
                          "report the trace on its own")
    from olmo_green.reports.formats import render
    from olmo_green.reports.output import write_atomic

    accounts = account_many(run_dirs, trace, hardware=hardware, pue=pue, intensity_kg_per_kwh=intensity,
                            country=country, intensity_series=intensity_series, wue=wue)
    text = render(accounts, fmt, by)  # everything is computed before a file is touched
    if output and output != "-":  # `-o -` is stdout, as for most tools
        write_atomic(output, text, follow=True)  # atomic, 0644; a directory or unwritable target is one line
    else:
        click.echo(text, nl=False)
