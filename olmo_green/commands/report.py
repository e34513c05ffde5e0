"""`olmo-green report`: the emissions table of one or more runs or traces."""

from pathlib import Path

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
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "json", "latex", "codecarbon"]),
              default="md", show_default=True,
              help="codecarbon: one row per run in codecarbon's emissions.csv columns.")
@click.option("--sacct", "sacct", is_flag=False, flag_value="", default=None, metavar="[FILE]",
              help="Compare with SLURM's energy accounting: run sacct for the run's job ids, or read "
                   "FILE (saved `sacct ... -P -n` output). Put it after RUN_DIR, or write --sacct=FILE.")
@click.option("-o", "--output", type=click.Path(), help="Write here instead of stdout.")
def command(run_dirs: tuple[str, ...], trace: str | None, hardware: str | None, pue: float | None,
            intensity: float | None, country: str | None, intensity_series: str | None, fmt: str,
            output: str | None, sacct: str | None = None) -> None:
    """Report the energy and emissions of runs, like the OLMo model card's table."""
    from olmo_green.errors import ConfigError
    from olmo_green.reports import account_many

    if sacct and not run_dirs and not trace and Path(sacct).is_dir():
        run_dirs, sacct = (sacct,), ""  # `report --sacct RUN`: click took the run for --sacct's FILE
    if run_dirs and trace:  # a trace is accounted for instead of a run's telemetry, never beside it
        raise ConfigError(f"give RUN_DIR ... or --trace FILE, not both ({run_dirs[0]} and --trace {trace}); "
                          "report the trace on its own")
    from olmo_green.reports.formats import render
    from olmo_green.reports.output import write_atomic

    accounts = account_many(run_dirs, trace, hardware=hardware, pue=pue, intensity_kg_per_kwh=intensity,
                            country=country, intensity_series=intensity_series)
    text = render(accounts, fmt)  # everything is computed before a file is touched
    if sacct is not None:
        text = _with_sacct(text, accounts, fmt, sacct or None)
    if output and output != "-":  # `-o -` is stdout, as for most tools
        write_atomic(output, text, follow=True)  # atomic, 0644; a directory or unwritable target is one line
    else:
        click.echo(text, nl=False)


def _with_sacct(text: str, accounts: list, fmt: str, saved: str | None) -> str:
    """The SLURM cross-check: appended to a Markdown report; on stderr beside the other formats,
    whose files must stay machine-readable."""
    from olmo_green.reports.sacct import sacct_report

    lines = sacct_report(accounts, saved)
    if fmt == "md":
        return text + "\n".join(lines) + "\n"
    click.echo("\n".join(lines).lstrip("\n"), err=True)
    return text
