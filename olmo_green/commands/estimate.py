"""`olmo-green estimate`: the energy and emissions of a run before it starts."""

import click

from olmo_green.checks import Checked


@click.command()
@click.option("--model", "model_name", required=True, help="Preset or model YAML file.")
@click.option("--tokens", type=Checked("tokens"), required=True, help="Training tokens, e.g. 2.46e12.")
@click.option("--hardware", multiple=True, required=True, help="Profile; repeat to compare.")
@click.option("--mfu", type=Checked("mfu"), help="Model FLOPs utilisation (0-1).")
@click.option("--pue", type=Checked("pue"), help="Power usage effectiveness (default: the profile's).")
@click.option("--intensity", type=Checked("intensity_kg_per_kwh"),
              help="Carbon intensity in kg CO2e/kWh (default: the profile's).")
@click.option("--country", help="ISO 3166 alpha-3 code: use that country's grid average.")
@click.option("--wue", type=Checked("wue_l_per_kwh"),
              help="Water usage effectiveness in L/kWh, on-site + off-site (default: the profile's).")
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "json", "latex"]), default="md",
              show_default=True)
@click.option("-o", "--output", type=click.Path(), help="Write here instead of stdout.")
def command(model_name: str, tokens: float, hardware: tuple[str, ...], mfu: float | None,
            pue: float | None, intensity: float | None, country: str | None, wue: float | None, fmt: str,
            output: str | None) -> None:
    """Estimate (model, not measure) the energy and emissions of a training run."""
    from olmo_green.carbon import CarbonOptions
    from olmo_green.outputs import write_output
    from olmo_green.reports.estimate import estimate
    from olmo_green.reports.estimate_format import render_estimates

    carbon = CarbonOptions(pue=pue, intensity_kg_per_kwh=intensity, country=country, wue=wue)
    estimates = [estimate(model_name, tokens, h, mfu=mfu, carbon=carbon) for h in hardware]
    text = render_estimates(estimates, fmt)
    if output and output != "-":  # `-o -` is stdout, as for most tools
        write_output(output, text)
    else:
        click.echo(text, nl=False)
