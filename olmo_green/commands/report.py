"""`olmo-green report`: the emissions table of one or more runs or traces."""

from pathlib import Path

import click

from olmo_green.checks import Checked
from olmo_green.commands.options import carbon_options, trace_files, trace_options


@click.command()
@click.argument("run_dirs", nargs=-1, type=click.Path())
@trace_options
@carbon_options
@click.option("--wue", type=Checked("wue_l_per_kwh"),
              help="Water usage effectiveness in L/kWh, on-site + off-site (default: the profile's).")
@click.option("--by", "by", metavar="KEY",
              help="Roll runs up by the value of this tag (train --tag KEY=VALUE).")
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "json", "latex", "codecarbon"]),
              default="md", show_default=True,
              help="codecarbon: one row per run in codecarbon's emissions.csv columns.")
@click.option("--sacct", "sacct", is_flag=False, flag_value="", default=None, metavar="[FILE]",
              help="Compare with SLURM's energy accounting: run sacct for the run's job ids, or read "
                   "FILE (saved `sacct --parsable2 --format=JobID,ConsumedEnergyRaw,Elapsed,NNodes` output, "
                   "header included). Put it after RUN_DIR, or write --sacct=FILE.")
@click.option("--sacct-job", "sacct_jobs", metavar="ID[,ID]",
              help="With --sacct: the SLURM job(s) of the run (default: those its events name).")
@click.option("--sacct-columns", metavar="A,B,...",
              help="With --sacct FILE saved without its header (-n): its columns in order.")
@click.option("-o", "--output", type=click.Path(), help="Write here instead of stdout.")
@click.option("--verify", is_flag=True,
              help="Re-integrate every raw sample chunk (in parallel) and compare each device's energy "
                   "with the chunk summaries reports read, and cross-check the record's parts (counter "
                   "against power, steps against telemetry, config against chunks, duplicate chunks, a "
                   "run named twice); one line per finding, exit 1 if any.")
@click.option("--nodes", metavar="PATTERN", help="With --verify: only nodes matching this shell pattern.")
def command(run_dirs: tuple[str, ...], trace: tuple[str, ...], hardware: str | None, pue: float | None,
            intensity: float | None, country: str | None, intensity_series: str | None, wue: float | None,
            by: str | None, fmt: str, output: str | None, verify: bool, nodes: str | None,
            sacct: str | None = None, sacct_jobs: str | None = None, sacct_columns: str | None = None,
            trace_format: str = "auto", trace_tz: str = "UTC", trace_devices: int | None = None,
            trace_node: str | None = None) -> None:
    """Report the energy and emissions of runs, like the OLMo model card's table.

    Reports read each run's chunk summaries (built and saved on first read where
    missing), so a second report costs O(chunks + steps), not O(samples).
    """
    from olmo_green.accounts import account_many
    from olmo_green.errors import ConfigError

    if sacct is None and (sacct_jobs or sacct_columns):  # silently ignored, they'd hide a missing check
        raise ConfigError(f"{'--sacct-job' if sacct_jobs else '--sacct-columns'} goes with --sacct: "
                          "add --sacct (SLURM's sacct) or --sacct FILE")
    if verify or nodes:
        _verify(run_dirs, trace, nodes)
        return
    if sacct and not run_dirs and not trace and Path(sacct).is_dir():
        run_dirs, sacct = (sacct,), ""  # `report --sacct RUN`: click took the run for --sacct's FILE
    trace, run_dirs = trace_files(trace, run_dirs)  # `--trace a.csv b.csv`: the files after the first
    if run_dirs and trace:  # a trace is accounted for instead of a run's telemetry, never beside it
        raise ConfigError(f"give RUN_DIR ... or --trace FILE, not both ({run_dirs[0]} and --trace "
                          f"{trace[0]}); "
                          "report the trace on its own")
    from olmo_green.outputs import write_output
    from olmo_green.reports.formats import render
    from olmo_green.traces.formats import TraceOptions

    options = TraceOptions(tz=trace_tz, devices=trace_devices, node=trace_node)
    accounts = account_many(run_dirs, list(trace), trace_format, options, hardware=hardware, pue=pue,
                            intensity_kg_per_kwh=intensity,
                            country=country, intensity_series=intensity_series, wue=wue)
    text = render(accounts, fmt, by)  # everything is computed before a file is touched
    if sacct is not None:
        text = _with_sacct(text, accounts, fmt, _sacct_options(sacct, sacct_jobs, sacct_columns, hardware))
    if output and output != "-":  # `-o -` is stdout, as for most tools
        write_output(output, text)  # atomic, 0644; a directory or unwritable target is one line
    else:
        click.echo(text, nl=False)


def _verify(run_dirs: tuple[str, ...], trace: str | None, nodes: str | None) -> None:
    """`--verify`: the raw chunks against the summaries, run by run; exit 1 on any difference."""
    import sys

    from olmo_green import record as rr
    from olmo_green.errors import ConfigError
    from olmo_green.summaries.verify import verify_record

    if trace or not run_dirs:
        raise ConfigError("--verify checks run directories (their raw chunks against their summaries): "
                          "give RUN_DIR ..., not --trace")
    from olmo_green.reports.build import record_findings
    from olmo_green.summaries.identity import distinct_runs

    run_dirs, repeated = distinct_runs(run_dirs, refuse=False)  # two runs claiming one id: a finding
    for line in repeated:  # a run named twice is verified once, and the command line is a finding
        click.echo(line)
    failed = bool(repeated)
    for run_dir in run_dirs:
        if not rr.is_run_dir(run_dir):
            raise ConfigError(f"{run_dir}: not a run directory; --verify needs one written by olmo-green")
        chunks = sum(len(p) for p in rr.chunk_listing(run_dir).values())
        with click.progressbar(length=chunks, label=f"verifying {run_dir}", file=sys.stderr) as bar:
            result = verify_record(run_dir, nodes, progress=bar.update)
        result.problems += record_findings(run_dir)  # the record's parts against each other
        for line in result.problems:
            click.echo(line)
        click.echo(result.summary_line(run_dir))
        failed |= not result.ok
    if failed:
        sys.exit(1)


def _sacct_options(sacct: str, jobs: str | None, columns: str | None, hardware: str | None):
    from olmo_green.reports.sacct import SacctOptions

    def split(text: str | None) -> tuple[str, ...]:
        return tuple(p.strip() for p in (text or "").split(",") if p.strip())

    return SacctOptions(saved=sacct or None, jobs=split(jobs), columns=split(columns), hardware=hardware)


def _with_sacct(text: str, accounts: list, fmt: str, options) -> str:
    """The SLURM cross-check: appended to a Markdown report; on stderr beside the other formats,
    whose files must stay machine-readable."""
    from olmo_green.reports.sacct import sacct_report

    lines = sacct_report(accounts, options)
    if fmt == "md":
        return text + "\n".join(lines) + "\n"
    click.echo("\n".join(lines).lstrip("\n"), err=True)
    return text
