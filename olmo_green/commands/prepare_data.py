"""`olmo-green prepare-data`: text or JSONL into OLMo's token memmaps."""

import click

from olmo_green.commands._common import not_built


@click.command()
@click.argument("inputs", nargs=-1, type=click.Path())
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--tokenizer", type=click.Path(), help="A tokenizers-library JSON file.")
def command(**options) -> None:
    """Tokenize text or JSONL files into OLMo's input_ids.npy format."""
    not_built("prepare-data", 3)
