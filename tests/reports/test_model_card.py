"""`olmo-green model-card` and `convert olmo-to-hf --run-dir`: the report's figures in a Hub card."""

import json

import pytest
import yaml
from click.testing import CliRunner

from olmo_green.cli import cli
from tests.simulated_runs import steady_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("card")
    steady_run(folder / "stage1", "mosaicml-a100", steps=4, tags={"stage": "pre-training"})
    steady_run(folder / "stage2", "lumi", steps=4)
    return folder


def invoke(*args):
    result = CliRunner().invoke(cli, [*map(str, args)])
    assert result.exit_code == 0, result.output
    return result.output


def front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_card_front_matter_follows_the_hub_convention_with_the_reports_headline(runs, tmp_path):
    out = tmp_path / "README.md"
    invoke("model-card", runs / "stage1", runs / "stage2", "-o", out, "--model-name", "OLMo-green-tiny")
    text = out.read_text()
    co2 = front_matter(text)["co2_eq_emissions"]
    report = json.loads(invoke("report", runs / "stage1", runs / "stage2", "--format", "json"))["runs"]
    assert co2["emissions"] == pytest.approx(sum(r["emissions_tco2eq"] for r in report) * 1e6, abs=1e-6)
    assert co2["emissions"] > 0
    assert co2["source"].startswith("olmo-green, modelled (") and "location and market" in co2["source"]
    assert co2["training_type"] == "pre-training, not stated (stage2)"  # every run the card covers
    assert co2["geographical_location"] == "unknown country (mosaicml-a100); Finland (lumi)"
    assert co2["hardware_used"] == "8 x A100-40GB (MosaicML); 4 x MI250X (LUMI supercomputer)"
    assert "# OLMo-green-tiny" in text and "## Environmental impact" in text


def test_card_table_holds_the_reports_own_cells(runs):
    card = invoke("model-card", runs / "stage1")
    report = invoke("report", runs / "stage1")
    row = next(line for line in report.splitlines() if line.startswith("| stage1 |"))
    assert row in card.splitlines()  # same energy, PUE, intensity, emissions and method
    # mosaicml-a100 has the OLMo 2 paper's WUE (4.26 L/kWh): the card shows the report's water columns
    assert "Total Water Usage (kL)" in card and "Total Water Usage (kL)" in report


def test_card_parses_as_a_hugging_face_model_card(runs):
    hub = pytest.importorskip("huggingface_hub")
    card = hub.ModelCard(invoke("model-card", runs / "stage1"))
    assert card.data.to_dict()["co2_eq_emissions"]["source"].startswith("olmo-green")


def test_convert_to_hf_with_run_dir_writes_the_card_into_the_model(runs, tmp_path):
    from olmo_green.model.olmo import OLMo

    OLMo.from_preset("tiny").save_pretrained(tmp_path / "native", format="olmo")
    invoke("convert", "olmo-to-hf", tmp_path / "native", tmp_path / "hf", "--run-dir", runs / "stage1")
    readme = (tmp_path / "hf" / "README.md").read_text()
    assert readme == invoke("model-card", runs / "stage1", "--model-name", "hf")
    assert (tmp_path / "hf" / "config.json").exists()


def test_model_card_of_a_folder_that_is_no_run_is_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["model-card", str(tmp_path)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
