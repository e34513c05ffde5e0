"""`olmo-green model-card`: a Hugging Face README.md with the runs' energy and emissions."""

from pathlib import Path

import click


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", type=click.Path(), help="Write here (e.g. README.md) instead of stdout.")
@click.option("--model-name", help="The card's title.  [default: the first run's folder name]")
def command(run_dirs: tuple[str, ...], output: str | None, model_name: str | None) -> None:
    """Write a model card whose co2_eq_emissions and Environmental impact table come from the runs.

    Several runs (e.g. pre-training and mid-training stages) add up in the front matter and
    get one table row each. The figures are those of `olmo-green report`.
    """
    from olmo_green.reports.output import write_atomic

    text = card_text(run_dirs, model_name)
    if output and output != "-":
        write_atomic(output, text, follow=True)
    else:
        click.echo(text, nl=False)


def card_text(run_dirs: tuple[str, ...] | list[str], model_name: str | None = None) -> str:
    """The card for these runs (also written by `convert olmo-to-hf --run-dir`)."""
    from olmo_green.reports import account_many
    from olmo_green.reports.modelcard import model_card

    accounts = account_many(list(run_dirs))
    return model_card(accounts, model_name or Path(run_dirs[0]).resolve().name)
