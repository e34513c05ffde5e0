"""The speed options through `olmo-green train --set`: checked like every value, and recorded."""

import pytest
import yaml
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.config import TrainConfig, apply_overrides
from tests.model.helpers import byte_data

pytestmark = pytest.mark.usefixtures("one_thread")
SMALL = ["--set", "model.sequence_length=32", "--set", "progress=false", "--max-steps", "2",
         "--save-interval", "1"]


@pytest.mark.parametrize(("setting", "words"), [
    ("model.compile=maybe", "model.compile must be bool or null"),
    ("model.activation_checkpointing=some", "activation_checkpointing must be one of none, full, selective"),
    ("model.activation_checkpointing_every=0", "model.activation_checkpointing_every"),
    ("model.activation_checkpointing_every=2.5", "model.activation_checkpointing_every"),
    ("model.activation_checkpointing_every=nan", "model.activation_checkpointing_every"),
    ("async_checkpoint=1", "async_checkpoint must be bool"),
    ("distributed.replicate_degree=0", "distributed.replicate_degree"),
    ("distributed.replicate_degree=true", "distributed.replicate_degree"),
])
def test_a_bad_option_is_one_line_and_exit_2(tmp_path, setting, words):
    result = CliRunner().invoke(cli, ["train", "--run-dir", str(tmp_path / "run"), "--set", setting, *SMALL])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("olmo-green: error:") and words in lines[0], result.output
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_replicate_degree_must_divide_the_world():
    config = apply_overrides(TrainConfig(), ["distributed.replicate_degree=3"])
    assert config.distributed.shard_degree(6) == 2
    with pytest.raises(Exception, match="must divide the number of processes"):
        config.distributed.shard_degree(8)


def test_the_options_are_carried_into_config_yaml_and_kept_on_resume(tmp_path):
    run = tmp_path / "run"
    data = byte_data(tmp_path / "data")
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--run-dir", str(run),
                                      "--set", "model.activation_checkpointing=selective",
                                      "--set", "model.activation_checkpointing_every=3",
                                      "--set", "async_checkpoint=true", *SMALL])
    assert result.exit_code == 0, result.output
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["model"]["compile"] is False  # the default, resolved for this CPU
    assert saved["model"]["activation_checkpointing"] == "selective"
    assert saved["model"]["activation_checkpointing_every"] == 3
    assert saved["async_checkpoint"] is True and saved["distributed"]["replicate_degree"] == 1
    assert (run / "checkpoints" / "step000001").is_dir() and (run / "checkpoints" / "step000002").is_dir()

    resumed = CliRunner().invoke(cli, ["train", "--run-dir", str(run), "--resume", "--max-steps", "3",
                                       "--set", "progress=false"])
    assert resumed.exit_code == 0, resumed.output
    again = yaml.safe_load((run / "config.yaml").read_text())
    assert again["model"]["activation_checkpointing"] == "selective" and again["async_checkpoint"] is True
