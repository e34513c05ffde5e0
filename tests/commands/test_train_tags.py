"""`olmo-green train --tag KEY=VALUE`: tags saved in config.yaml, kept on resume, read by reports."""

import pytest
import yaml
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.config import TrainConfig, parse_tags
from olmo_green.errors import ConfigError
from olmo_green.reports import account_run
from tests.model.helpers import byte_data

pytestmark = pytest.mark.usefixtures("one_thread")
SMALL = ["--set", "model.sequence_length=32", "--set", "batch.global_batch_size=8", "--set", "progress=false",
         "--set", "eval_interval=0"]


def train(*args):
    return CliRunner().invoke(cli, ["train", *SMALL, *map(str, args)])


def test_tags_are_saved_in_config_yaml_and_kept_on_resume(tmp_path):
    data, run = byte_data(tmp_path / "data"), tmp_path / "run"
    result = train("--data", data, "--run-dir", run, "--max-steps", 2, "--save-interval", 2,
                   "--hardware", "jupiter", "--simulate",
                   "--tag", "stage=development", "--tag", "project=olmo2-7b")
    assert result.exit_code == 0, result.output
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["tags"] == {"stage": "development", "project": "olmo2-7b"}
    result = train("--run-dir", run, "--resume", "--max-steps", 3, "--tag", "attempt=2")
    assert result.exit_code == 0, result.output
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["tags"] == {"stage": "development", "project": "olmo2-7b", "attempt": "2"}
    assert account_run(run).tags["stage"] == "development"


@pytest.mark.parametrize("tag", ["stage", "=final", "stage=", "1stage=x", "st age=x"])
def test_malformed_tag_is_one_line_exit_2_before_anything_is_written(tmp_path, tag):
    result = train("--run-dir", tmp_path / "run", "--max-steps", 1, "--tag", tag)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "tag" in result.output and not (tmp_path / "run").exists()


def test_tags_from_yaml_are_text():
    assert TrainConfig.from_dict({"tags": {"seed_sweep": 3, "final": True}}).tags == {
        "seed_sweep": "3", "final": "true"}
    with pytest.raises(ConfigError, match="tags must be dict"):
        TrainConfig.from_dict({"tags": ["stage"]})


def test_parse_tags_later_flag_wins():
    assert parse_tags(["stage=a", "stage=b"]) == {"stage": "b"}
