"""`olmo-green train`: train an OLMo model inside the telemetry layer."""

import click

from olmo_green.commands._common import not_built


@click.command()
@click.option("--model", "model_name", default="tiny", show_default=True,
              help="Preset (tiny, small, olmo-1b, olmo-7b) or a model YAML file.")
@click.option("--hardware", default="local", show_default=True,
              help="Hardware profile (lumi, mosaicml-a100, h100, local) or a profile YAML file.")
@click.option("--data", "data_paths", multiple=True, type=click.Path(),
              help="Token memmap (input_ids.npy) or folder; repeat for several. Default: built-in corpus.")
@click.option("--run-dir", type=click.Path(file_okay=False), help="Run directory to write (or resume).")
@click.option("--max-steps", type=int, help="Train up to this optimizer step.")
@click.option("--save-interval", type=int, help="Save a checkpoint every N steps (and at the end).")
@click.option("--resume", is_flag=True, help="Continue the run in --run-dir from its last checkpoint.")
@click.option("--simulate", is_flag=True, help="Use the profile's modelled devices instead of real sensors.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a configuration value by dotted key, e.g. --set optim.lr=3e-4.")
def command(**options) -> None:
    """Train an OLMo model while measuring the energy its accelerators draw."""
    not_built("train", 3)
