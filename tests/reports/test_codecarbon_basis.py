"""codecarbon rows carry codecarbon's basis (location) and codecarbon's own appender accepts our CSV."""

import dataclasses
import io
import json

import pandas as pd
import pytest
from click.testing import CliRunner
from codecarbon.output_methods.emissions_data import EmissionsData
from codecarbon.output_methods.file import FileOutput

from olmo_green.carbon.country import country_intensity
from olmo_green.cli import cli
from tests.simulated_runs import steady_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ccbasis")
    steady_run(folder / "lumi", "lumi", steps=3)  # headline market-based 0 (hydropower contract), FIN
    steady_run(folder / "a100", "mosaicml-a100", steps=3)  # location-based 0.656
    steady_run(folder / "h100", "h100", steps=3)  # no intensity, no country
    return folder


def report(*args) -> str:
    result = CliRunner().invoke(cli, ["report", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.output


def rows(*args) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(report(*args, "--format", "codecarbon")))


def test_a_market_based_headline_of_zero_becomes_codecarbons_country_figure(runs):
    ours = json.loads(report(runs / "lumi", "--format", "json"))["runs"][0]
    assert ours["emissions_tco2eq"] == 0  # the report's market-based headline
    row = rows(runs / "lumi").iloc[0]
    grid = country_intensity("FIN").kg_per_kwh
    assert grid > 0
    assert row["emissions"] == pytest.approx(row["energy_consumed"] * grid, rel=1e-9)
    assert row["emissions_rate"] == pytest.approx(row["emissions"] / row["duration"], rel=1e-9)


def test_a_location_based_headline_is_kept_as_it_is(runs):
    ours = json.loads(report(runs / "a100", "--format", "json"))["runs"][0]
    row = rows(runs / "a100").iloc[0]
    assert row["emissions"] == pytest.approx(ours["emissions_tco2eq"] * 1000, rel=1e-9)


def test_a_given_intensity_is_used_where_no_location_figure_exists(runs):
    row = rows(runs / "h100", "--intensity", "0.3").iloc[0]
    assert row["emissions"] == pytest.approx(row["energy_consumed"] * 0.3, rel=1e-9)


def test_codecarbons_own_appender_appends_to_our_csv_without_backing_it_up(runs, tmp_path):
    out = tmp_path / "emissions.csv"
    report(runs / "lumi", runs / "a100", "--format", "codecarbon", "-o", out)
    ours = pd.read_csv(out)
    # a row as codecarbon's tracker would write it, built from our first row's values
    fields = [f.name for f in dataclasses.fields(EmissionsData)]
    values = {name: ("" if pd.isna(ours.loc[0, name]) else ours.loc[0, name]) for name in fields}
    FileOutput("emissions.csv", str(tmp_path), on_csv_write="append").out(EmissionsData(**values), None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emissions.csv"]  # no backup: headers valid
    after = pd.read_csv(out)
    assert len(after) == 3 and list(after.columns) == fields
    assert after.loc[2, "emissions"] == pytest.approx(ours.loc[0, "emissions"], rel=1e-12)
    assert after.loc[2, "run_id"] == ours.loc[0, "run_id"]


def test_without_any_location_figure_emissions_stay_empty_not_a_market_zero(runs):
    from olmo_green.reports import account_run
    from olmo_green.reports.codecarbon import basis_of_row, codecarbon_row

    lumi = account_run(runs / "lumi")
    market = [c for c in lumi.carbon if c.basis == "market"]
    market_only = dataclasses.replace(lumi, hardware=None, carbon=market)
    assert market_only.carbon and market_only.headline.emissions_kg == 0
    row = codecarbon_row(market_only)
    assert row["emissions"] == "" and row["emissions_rate"] == ""
    assert basis_of_row(market_only).startswith("none:")
    assert basis_of_row(lumi).startswith("location: Finland grid average")


def test_run_id_is_the_records_own_wherever_the_folder_goes(runs, tmp_path):
    """A moved or copied folder keeps its codecarbon run_id (the record's config.yaml run_id as a
    UUID); two runs differ."""
    import shutil
    import uuid

    from olmo_green.record.config import RunConfig

    moved = shutil.copytree(runs / "lumi", tmp_path / "elsewhere" / "renamed")
    here, there, other = (rows(path).iloc[0]["run_id"] for path in (runs / "lumi", moved, runs / "a100"))
    assert here == there != other
    assert uuid.UUID(here).hex == RunConfig.load(runs / "lumi").run_id


def test_run_ids_that_one_uuid_would_read_alike_keep_distinct_codecarbon_run_ids(tmp_path):
    """uuid.UUID reads 'ABC..' and a dashed form as one UUID; only our own form (32
    lowercase hex) is taken as the UUID itself, so distinct run ids never share a codecarbon
    run_id, and ours is read back unchanged."""
    import uuid

    import yaml

    from olmo_green.reports.codecarbon import codecarbon_run_id

    ours = uuid.uuid4().hex
    words = [ours, ours.upper(), str(uuid.UUID(hex=ours))]  # each a valid run_id word
    ids = []
    for n, word in enumerate(words):
        run = tmp_path / f"r{n}"
        steady_run(run, "h100", steps=2)
        config = yaml.safe_load((run / "config.yaml").read_text())
        config["run_id"] = word
        (run / "config.yaml").write_text(yaml.safe_dump(config))
        ids.append(codecarbon_run_id(str(run)))
    assert ids[0] == str(uuid.UUID(hex=ours))
    assert len(set(ids)) == len(words), ids
