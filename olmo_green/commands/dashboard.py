"""`olmo-green dashboard`: a self-contained Plotly page of power, energy and emissions over steps."""

import click

from olmo_green.commands.options import carbon_options_defaulting_to_run, trace_files, trace_options


@click.command()
@click.argument("run_dirs", nargs=-1, type=click.Path())
@trace_options
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="HTML file to write (default: RUN_DIR/dashboard.html for one run).")
@carbon_options_defaulting_to_run
@click.option("--nodes", metavar="PATTERN",
              help="Shell pattern of the nodes whose devices the device panel draws (default: the first 8).")
def command(run_dirs: tuple[str, ...], output: str | None, intensity: float | None, nodes: str | None,
            trace: tuple[str, ...] = (), trace_format: str = "auto", trace_tz: str = "UTC",
            trace_devices: int | None = None, trace_node: str | None = None, **carbon) -> None:
    """Build a Plotly dashboard of power, energy and emissions over steps.

    Several RUN_DIRs are overlaid on one page (then -o is required). The page
    embeds Plotly's JavaScript, so it opens offline. Carbon figures come from
    the same accounting as `olmo-green report`, with the same options.
    With --trace FILE... (and no RUN_DIR) it draws a power log read as
    `report --trace` reads it; -o is then required.
    """
    from olmo_green.dashboards import build_dashboard  # plotly and pandas load only here

    trace, run_dirs = trace_files(trace, run_dirs)
    _check_inputs(run_dirs, trace, output, nodes)
    if output is not None:
        _check_output(output)
    _check_options(**carbon)
    options = {key: value for key, value in carbon.items() if value is not None}
    if intensity is not None:
        options["intensity_kg_per_kwh"] = intensity
    if trace:
        from olmo_green.dashboards.trace import build_trace_dashboard
        from olmo_green.traces.formats import TraceOptions

        trace_opts = TraceOptions(tz=trace_tz, devices=trace_devices, node=trace_node)
        click.echo(f"wrote {build_trace_dashboard(list(trace), output, trace_format, trace_opts, **options)}")
        return
    path = build_dashboard(list(run_dirs), output, nodes, **options)
    click.echo(f"wrote {path}")


def _check_inputs(run_dirs: tuple[str, ...], trace: tuple[str, ...], output: str | None,
                  nodes: str | None) -> None:
    """A run or a trace, not both, not neither; a trace's page has no run folder to default into."""
    from olmo_green.errors import ConfigError

    if not run_dirs and not trace:
        raise ConfigError("dashboard needs RUN_DIR ... or --trace FILE ...; give one")
    if run_dirs and trace:
        raise ConfigError(f"give RUN_DIR ... or --trace FILE, not both ({run_dirs[0]} and --trace "
                          f"{trace[0]}); draw the trace on its own")
    if trace and output is None:
        raise ConfigError("dashboard --trace needs an output file: add -o FILE.html")
    if trace and nodes is not None:
        raise ConfigError("--nodes chooses a run's device panel; a trace's page draws its nodes: "
                          "leave --nodes out")


def _check_output(output: str) -> None:
    """`-o -` would write a file named "-": the page is a file, refused in one line; and no -o lands
    in a run's record (checked before any folder for it is made)."""
    from olmo_green.errors import ConfigError
    from olmo_green.outputs import refuse_record_target

    if output == "-":
        raise ConfigError("dashboard -o -: the dashboard is an HTML file, not text for stdout; "
                          "give a file name, e.g. -o dashboard.html")
    refuse_record_target(output)


def _check_options(hardware: str | None = None, country: str | None = None,
                   intensity_series: str | None = None, **_: object) -> None:
    """What the user passed is checked here, as `report` does, so a bad profile, country or
    series is one line and exit code 2; the page itself shows only problems of the run's own record."""
    from olmo_green.carbon import country_intensity, read_intensity_series
    from olmo_green.hardware import load_profile

    if hardware is not None:
        load_profile(hardware)
    if country is not None:
        country_intensity(country)
    if intensity_series is not None:
        read_intensity_series(intensity_series)
