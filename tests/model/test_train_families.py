"""OLMo 2 and 3 train on CPU: `train --model olmo2-tiny / olmo3-tiny`, the loss falls, resume is bitwise."""

import pytest
import torch
import yaml
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.record import read_steps
from tests.model.helpers import byte_data, make_trainer, small_config, train_losses

pytestmark = pytest.mark.usefixtures("one_thread")
FAMILIES = ["olmo2-tiny", "olmo3-tiny"]
# 96 tokens: longer than olmo3-tiny's 64-token window, so its sliding layers are exercised
SMALL = ["--set", "model.sequence_length=96", "--set", "batch.global_batch_size=8",
         "--set", "optim.lr=3e-3", "--set", "schedule.warmup_steps=2", "--set", "progress=false",
         "--set", "eval_interval=0"]


def train(*args):
    return CliRunner().invoke(cli, ["train", *map(str, args), *SMALL])


@pytest.mark.parametrize("preset", FAMILIES)
def test_train_command_trains_the_family_and_the_loss_falls(preset, tmp_path):
    data = byte_data(tmp_path / "data", n_tokens=40_000)
    run = tmp_path / "run"
    result = train("--model", preset, "--data", data, "--run-dir", run, "--max-steps", 12)
    assert result.exit_code == 0, result.output
    steps = read_steps(run)
    losses = steps[steps["phase"] == "train"]["loss"].tolist()
    assert len(losses) == 12 and losses[-1] < losses[0] - 0.5
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["resolved_model"]["family"] == preset.removesuffix("-tiny")
    # the family's recipe, under the --set overrides
    assert (saved["optim"]["eps"], saved["optim"]["decay_norm_and_bias"]) == (1e-8, True)
    assert (saved["schedule"]["warmup_start"], saved["optim"]["lr"]) == (0.0, 3e-3)


@pytest.mark.parametrize("preset", FAMILIES)
def test_resume_matches_an_uninterrupted_run_bitwise(preset, tmp_path):
    data = byte_data(tmp_path / "data", n_tokens=40_000)
    # t_max fixed, so the run cut at step 3 has the same schedule as the whole one
    common = [f"model.name={preset}", "model.sequence_length=96", "save_interval=3", "schedule.t_max=6"]
    make_trainer(small_config(data, *common), tmp_path / "whole").fit()
    make_trainer(small_config(data, *common, "max_steps=3"), tmp_path / "cut").fit()
    resumed = make_trainer(small_config(data, *common), tmp_path / "cut")
    resumed.restore(tmp_path / "cut" / "checkpoints" / "step000003")
    resumed.fit()
    losses, cut = train_losses(tmp_path / "whole"), train_losses(tmp_path / "cut")
    assert len(losses) == len(cut) == 6
    assert cut == losses  # bitwise: same floats, not approximately
    final = "checkpoints/step000006/model_optim.pt"  # one process: model and optimizer in one file
    weights = [torch.load(tmp_path / run / final, weights_only=True)["model"] for run in ("whole", "cut")]
    for name, tensor in weights[0].items():
        assert torch.equal(tensor, weights[1][name]), name
    assert losses[-1] < losses[0]
