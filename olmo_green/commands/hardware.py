"""`olmo-green hardware`: the hardware profiles and their cited values."""

import click


@click.command()
@click.argument("profiles", nargs=-1)
def command(profiles: tuple[str, ...]) -> None:
    """List the hardware profiles (or the named ones, or YAML files) and the sources of their values."""
    from olmo_green.hardware import list_profiles, load_profile
    from olmo_green.hardware.listing import profiles_text

    chosen = [load_profile(p) for p in profiles] if profiles else list_profiles()
    click.echo(profiles_text(chosen), nl=False)
