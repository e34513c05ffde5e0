"""`model-card -o README.md` over a user's card: our metadata and section updated, the rest byte for byte;
read back with huggingface_hub's ModelCard and metadata_load."""

import pytest
from click.testing import CliRunner
from huggingface_hub import ModelCard, metadata_load

from olmo_green.cli import cli
from tests.simulated_runs import steady_run

FRONT = ("---\n"
         "license: apache-2.0\n"
         "language:\n"
         "- en\n"
         "tags:\n"
         "  - my-tag  # the user's own comment\n"
         "co2_eq_emissions:\n"
         "  emissions: 1.0\n"
         "  source: an old guess\n"
         "datasets: [allenai/dolma]\n"
         "---\n")
BEFORE = ("# My model\n\n"
          "A model described by its author, with  two spaces, a trailing space \n"
          "and a table | a | b |\n\n")
OLD_SECTION = "## Environmental impact\n\nOld numbers that must go: 123 tCO2eq.\n\n"
AFTER = ("## Evaluation\n\n```\n## Environmental impact\n(inside a code block: not a heading)\n```\n\n"
         "Thanks to everyone.\n")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cardmerge")
    steady_run(folder / "pre", "mosaicml-a100", steps=3, tags={"stage": "pre-training"})
    steady_run(folder / "mid", "lumi", steps=3, tags={"stage": "mid-training"})
    return folder


def card(*args):
    return CliRunner().invoke(cli, ["model-card", *map(str, args)])


def test_an_existing_card_keeps_every_user_line_and_gets_our_metadata_and_section(runs, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(FRONT + BEFORE + OLD_SECTION + AFTER)
    result = card(runs / "pre", runs / "mid", "-o", readme)
    assert result.exit_code == 0, result.output
    text = readme.read_text()
    assert text.startswith(FRONT.split("co2_eq_emissions")[0])  # the user's keys, comment and all
    assert "\ndatasets: [allenai/dolma]\n---\n" + BEFORE + "## Environmental impact\n" in text
    assert text.endswith("\n" + AFTER) and "Old numbers" not in text and "an old guess" not in text
    meta = metadata_load(readme)
    assert meta["license"] == "apache-2.0" and meta["tags"] == ["my-tag"]
    assert meta["datasets"] == ["allenai/dolma"]
    co2 = meta["co2_eq_emissions"]
    assert co2["training_type"] == "pre-training, mid-training"
    assert co2["geographical_location"] == "unknown country (mosaicml-a100); Finland (lumi)"
    assert co2["hardware_used"] == "8 x A100-40GB (MosaicML); 4 x MI250X (LUMI supercomputer)"
    hub = ModelCard.load(readme)
    assert hub.data.to_dict()["co2_eq_emissions"] == co2
    assert hub.text.count("## Environmental impact") == 2  # ours, and the one inside the user's code block


def test_a_second_run_of_the_command_changes_nothing(runs, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(FRONT + BEFORE + AFTER)  # no section yet: appended at the end
    assert card(runs / "pre", "-o", readme).exit_code == 0
    once = readme.read_bytes()
    assert once.startswith(FRONT.split("co2_eq_emissions")[0].encode()) and (BEFORE + AFTER).encode() in once
    assert card(runs / "pre", "-o", readme).exit_code == 0
    assert readme.read_bytes() == once


def test_a_card_without_front_matter_gets_one_and_crlf_lines_stay_crlf(runs, tmp_path):
    readme = tmp_path / "README.md"
    user = b"# Title\r\n\r\nWindows text.\r\n"
    readme.write_bytes(user)
    assert card(runs / "pre", "-o", readme).exit_code == 0
    data = readme.read_bytes()
    assert data.startswith(b"---\r\n") and user in data and b"\n" not in data.replace(b"\r\n", b"")
    assert metadata_load(readme)["co2_eq_emissions"]["emissions"] > 0


@pytest.mark.parametrize("front, says", [
    ("---\nlicense: [apache\n---\n", "does not parse"),
    ("---\nlicense: apache-2.0\n", "no closing `---`"),
    ("---\n- a list\n---\n", "not a YAML mapping"),
    ("---\nco2_eq_emissions: {emissions: 1}\nx: &a 1\ny: *a\n---\n", None),
])
def test_a_readme_with_broken_front_matter_is_refused_and_untouched(runs, tmp_path, front, says):
    readme = tmp_path / "README.md"
    readme.write_text(front + BEFORE)
    result = card(runs / "pre", "-o", readme)
    if says is None:  # flow style on one line is still one line: replaced, the anchor kept
        assert result.exit_code == 0, result.output
        assert metadata_load(readme)["y"] == 1
        return
    assert result.exit_code == 2 and says in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert readme.read_text() == front + BEFORE


def test_the_options_the_no_intensity_message_names_exist(tmp_path):
    steady_run(tmp_path / "h100run", "h100", steps=2)  # the h100 profile has no intensity
    refused = card(tmp_path / "h100run")
    assert refused.exit_code == 2 and "pass --intensity KG_PER_KWH, --country ISO3" in refused.output
    given = card(tmp_path / "h100run", "--intensity", "0.25", "--pue", "1.2")
    assert given.exit_code == 0, given.output
    assert "0.25 kg CO2e/kWh (given: --intensity)" in given.output
    assert "Finland" in card(tmp_path / "h100run", "--country", "FIN").output
