"""`olmo-green convert`: between Hugging Face and native OLMo checkpoints."""

import click

from olmo_green.commands._common import not_built


@click.command()
@click.argument("direction", type=click.Choice(["hf-to-olmo", "olmo-to-hf"]))
@click.argument("src", type=click.Path())
@click.argument("dst", type=click.Path())
def command(**options) -> None:
    """Convert a checkpoint between the Hugging Face and native OLMo formats."""
    not_built("convert", 2)
