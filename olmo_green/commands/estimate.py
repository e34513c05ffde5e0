"""`olmo-green estimate`: the energy and emissions of a run before it starts."""

import click

from olmo_green.commands._common import not_built


@click.command()
@click.option("--model", "model_name", required=True, help="Preset or model YAML file.")
@click.option("--tokens", type=float, required=True, help="Training tokens, e.g. 2.46e12.")
@click.option("--hardware", multiple=True, required=True, help="Profile; repeat to compare.")
@click.option("--mfu", type=float, help="Model FLOPs utilisation (0-1).")
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "json", "latex"]), default="md",
              show_default=True)
def command(**options) -> None:
    """Estimate (model, not measure) the energy and emissions of a training run."""
    not_built("estimate", 5)
