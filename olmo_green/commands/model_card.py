"""`olmo-green model-card`: a Hugging Face README.md with the runs' energy and emissions."""

from pathlib import Path

import click

from olmo_green.commands.options import carbon_options


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", type=click.Path(),
              help="Write here (e.g. README.md) instead of stdout. An existing card keeps its text: only "
                   "co2_eq_emissions and the Environmental impact section are updated.")
@click.option("--model-name", help="The card's title.  [default: the first run's folder name]")
@carbon_options
def command(run_dirs: tuple[str, ...], output: str | None, model_name: str | None, hardware: str | None,
            pue: float | None, intensity: float | None, country: str | None,
            intensity_series: str | None) -> None:
    """Write a model card whose co2_eq_emissions and Environmental impact table come from the runs.

    Several runs (e.g. pre-training and mid-training stages) add up in the front matter and
    get one table row each. The figures are those of `olmo-green report` (same options).
    """
    from olmo_green.outputs import write_output

    options = {"hardware": hardware, "pue": pue, "intensity_kg_per_kwh": intensity, "country": country,
               "intensity_series": intensity_series}
    if output and output != "-" and Path(output).is_file():
        text = merged_card_text(run_dirs, output, **options)  # refused before anything is written
    else:
        text = card_text(run_dirs, model_name, **options)
    if output and output != "-":
        write_output(output, text)
    else:
        click.echo(text, nl=False)


def card_text(run_dirs: tuple[str, ...] | list[str], model_name: str | None = None, **carbon_options) -> str:
    """The card for these runs (also written by `convert olmo-to-hf --run-dir`)."""
    from olmo_green.accounts import account_many
    from olmo_green.reports.modelcard import model_card

    accounts = account_many(list(run_dirs), **carbon_options)
    return model_card(accounts, model_name or Path(run_dirs[0]).resolve().name)


def merged_card_text(run_dirs: tuple[str, ...] | list[str], existing: str, **carbon_options) -> str:
    """The existing card at `existing` with our metadata and section updated, the rest kept as is."""
    from olmo_green.accounts import account_many
    from olmo_green.errors import InputFileError
    from olmo_green.reports.modelcard_merge import merge_card

    try:
        # newline="" keeps CRLF as it is, so the user's lines are rewritten byte for byte
        with open(existing, encoding="utf-8", newline="") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise InputFileError(f"cannot read {existing} as UTF-8 text ({e}); write the card elsewhere") from e
    return merge_card(text, account_many(list(run_dirs), **carbon_options), existing)
