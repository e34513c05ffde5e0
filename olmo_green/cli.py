"""The `olmo-green` command line: a click group whose verbs live in olmo_green/commands/.

Each verb is one module that defines a click command named `command`; this file
only assembles them. Verb modules import heavy libraries (torch, pandas, plotly)
inside the command body, so `olmo-green --help` stays fast.
"""

from __future__ import annotations

import importlib
import sys

import click

from olmo_green import __version__
from olmo_green.errors import GreenError

# Verb name -> module under olmo_green.commands, in the order --help lists them.
VERBS = {
    "train": "train",
    "report": "report",
    "dashboard": "dashboard",
    "estimate": "estimate",
    "sensors": "sensors",
    "hardware": "hardware",
    "prepare-data": "prepare_data",
    "convert": "convert",
    "model-card": "model_card",
}


# click >= 8.2 signals a bare group invocation with this UsageError; its message is the help.
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


class GreenGroup(click.Group):
    """A click group that turns a GreenError into one line on stderr and its exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(VERBS)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GreenError as e:
            click.echo(f"olmo-green: error: {e}", err=True)
            ctx.exit(e.exit_code)
        except click.UsageError as e:  # a verb's bad flag or value: one line too, not click's three
            _usage_error(e, ctx)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as e:  # a bad option of the group itself, e.g. `olmo-green --bogus`
            if isinstance(e, _NO_ARGS_IS_HELP):
                raise  # a bare `olmo-green`: click prints the help
            _usage_error(e, ctx)
            return []  # not reached: _usage_error exits


def _usage_error(error: click.UsageError, ctx: click.Context) -> None:
    """One line naming the --help to read, and click's usage-error exit code (2)."""
    where = error.ctx.command_path if error.ctx is not None else ctx.command_path
    click.echo(f"olmo-green: error: {error.format_message()} (see `{where} --help`)", err=True)
    ctx.exit(error.exit_code)


@click.group(cls=GreenGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="olmo-green")
def cli() -> None:
    """Train OLMo models inside a telemetry layer and report their energy and carbon.

    Every energy figure says how it was obtained: a hardware counter, integrated
    power, a model, or a replayed trace. See docs/method.md ("Method and limits").
    """


for _verb, _module in VERBS.items():
    _command = importlib.import_module(f"olmo_green.commands.{_module}").command
    _command.name = _verb  # its own name too, so generated docs (mkdocs-click) print the verb
    cli.add_command(_command, _verb)


def main() -> None:
    """Console-script entry point; also `python -m olmo_green.cli`, as torchrun and srun start it."""
    try:
        cli()
    except SystemExit as end:
        _end_distributed(end)
        raise


def _end_distributed(end: SystemExit) -> None:
    """A process that joined a process group ends through model.distributed.end_process, which
    skips the interpreter's finalisation (it can abort beside torch's leftover collective
    threads); any other process ends as usual. torch is not imported to find out."""
    distributed = sys.modules.get("olmo_green.model.distributed")
    if distributed is None or not distributed.joined_group():
        return
    if end.code is None or isinstance(end.code, int):
        code = end.code or 0
    else:  # sys.exit("message"): Python prints it and exits 1
        print(end.code, file=sys.stderr)
        code = 1
    distributed.end_process(code)


if __name__ == "__main__":
    main()
