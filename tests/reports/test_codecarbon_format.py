"""`report --format codecarbon`: codecarbon's own columns, and its semantics (PUE in the energies)."""

import dataclasses
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from tests.simulated_runs import steady_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cc")
    steady_run(folder / "a100", "mosaicml-a100", steps=4)
    steady_run(folder / "lumi", "lumi", steps=4)
    return folder


def report(*args):
    result = CliRunner().invoke(cli, ["report", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result


def test_columns_are_codecarbons_own_in_its_order(runs, tmp_path):
    from codecarbon.output_methods.emissions_data import EmissionsData

    out = tmp_path / "emissions.csv"
    report(runs / "a100", runs / "lumi", "--format", "codecarbon", "-o", out)
    frame = pd.read_csv(out)
    assert list(frame.columns) == [f.name for f in dataclasses.fields(EmissionsData)]
    assert len(frame) == 2


def test_energy_includes_pue_and_emissions_are_energy_times_intensity(runs, tmp_path):
    frame = pd.read_csv(pd.io.common.StringIO(report(runs / "a100", "--format", "codecarbon").output))
    ours = json.loads(report(runs / "a100", "--format", "json").output)["runs"][0]
    row = frame.iloc[0]
    facility_kwh = ours["gpu_energy_mwh"] * 1000 * ours["pue"]
    assert row["gpu_energy"] == pytest.approx(facility_kwh, rel=1e-9)
    assert row["energy_consumed"] == pytest.approx(row["gpu_energy"], rel=1e-12)
    assert row["emissions"] == pytest.approx(row["energy_consumed"] * ours["intensity_kg_per_kwh"], rel=1e-9)
    assert row["emissions"] == pytest.approx(ours["emissions_tco2eq"] * 1000, rel=1e-9)
    assert row["pue"] == 1.1 and row["gpu_count"] == 8 and row["gpu_model"].startswith("8 x ")
    assert row["gpu_power"] == pytest.approx(facility_kwh * 3.6e6 / row["duration"], rel=1e-9)
    assert row["emissions_rate"] == pytest.approx(row["emissions"] / row["duration"], rel=1e-9)
    # mosaicml-a100's WUE (OLMo 2 paper, 4.26 L/kWh) gives water: facility kWh x WUE, in litres
    assert row["water_consumed"] == pytest.approx(facility_kwh * 4.26, rel=1e-9)
    for empty in ("cpu_energy", "ram_energy", "os", "cpu_model", "on_cloud"):
        assert pd.isna(row[empty]), empty  # not known to a report: left empty, never guessed
    assert pd.Timestamp(row["timestamp"]).year >= 2024


def test_the_profile_country_fills_the_country_columns(runs):
    frame = pd.read_csv(pd.io.common.StringIO(report(runs / "lumi", "--format", "codecarbon").output))
    assert frame.loc[0, "country_iso_code"] == "FIN" and frame.loc[0, "country_name"] == "Finland"
