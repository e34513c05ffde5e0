"""`olmo-green convert`: a round trip through both formats is exact; wrong inputs say so."""

import torch
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.model.config import OLMoConfig
from olmo_green.model.olmo import OLMo


def test_convert_round_trip_is_exact(tmp_path):
    torch.manual_seed(0)
    model = OLMo(OLMoConfig.from_preset("tiny"))
    model.save_pretrained(tmp_path / "hf")
    runner = CliRunner()
    first = runner.invoke(cli, ["convert", "hf-to-olmo", str(tmp_path / "hf"), str(tmp_path / "native")])
    assert first.exit_code == 0, first.output
    assert (tmp_path / "native" / "model.pt").exists() and (tmp_path / "native" / "config.yaml").exists()
    second = runner.invoke(cli, ["convert", "olmo-to-hf", str(tmp_path / "native"), str(tmp_path / "back")])
    assert second.exit_code == 0, second.output
    back = OLMo.from_pretrained(tmp_path / "back")
    assert back.config == model.config
    for name, tensor in model.state_dict().items():
        assert torch.equal(back.state_dict()[name], tensor), name


def test_convert_wrong_direction_says_which_to_use(tmp_path):
    OLMo.from_preset("tiny").save_pretrained(tmp_path / "hf")
    result = CliRunner().invoke(cli, ["convert", "olmo-to-hf", str(tmp_path / "hf"), str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "hf-to-olmo" in result.output and "Traceback" not in result.output


def test_convert_not_a_checkpoint_is_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["convert", "hf-to-olmo", str(tmp_path), str(tmp_path / "out")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "not an OLMo checkpoint" in lines[0]


def test_convert_refuses_a_non_empty_destination(tmp_path):
    OLMo.from_preset("tiny").save_pretrained(tmp_path / "hf")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(cli, ["convert", "hf-to-olmo", str(tmp_path / "hf"), str(tmp_path / "taken")])
    assert result.exit_code == 2 and "not an empty directory" in result.output
