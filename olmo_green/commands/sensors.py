"""`olmo-green sensors`: what this machine can measure, and how."""

import click

from olmo_green.checks import Checked


@click.command()
@click.option("--hardware", default="local", show_default=True, help="Hardware profile.")
@click.option("--simulate", is_flag=True, help="Show the profile's modelled devices instead.")
@click.option("--probe-seconds", type=Checked("probe_seconds"), default=1.0, show_default=True,
              help="How long to poll each source to measure its update interval.")
def command(hardware: str, simulate: bool, probe_seconds: float) -> None:
    """List the energy sensors found here, each one's method and update interval."""
    from olmo_green.errors import SensorError
    from olmo_green.hardware.profiles import load_profile
    from olmo_green.telemetry.sources.detect import measure_update_interval_s, open_sources

    profile = load_profile(hardware)
    sources, probes = open_sources(profile, simulate=simulate)
    for probe in probes:
        state = "found" if probe.source is not None else "not used"
        click.echo(f"{probe.name}: {state} ({probe.reason})")
        if probe.source is None:
            continue
        interval_s = measure_update_interval_s(probe.source, duration_s=probe_seconds)
        interval = f"{interval_s * 1000:.0f} ms" if interval_s is not None else "no change seen"
        if probe.name in ("simulated", "replay"):
            interval = "every read (not a sensor)"
        click.echo(f"  update interval: {interval}")
        for d in probe.devices:
            counted = "" if d.counted else "  [not counted]"
            click.echo(f"  {d.device:<12} {d.domain:<5} {d.method:<17} {d.name}  {d.note}{counted}")
    for source in sources:
        source.close()
    if not sources:
        raise SensorError(f"no energy sensor found for profile {profile.name!r} (tried "
                          f"{', '.join(profile.sensors) or 'none'}); run where the sensors are, "
                          "or use --simulate for modelled power")
