"""The z-loss of OLMo 2 and 3: logsumexp(logits)^2 added to the cross-entropy it trains on."""

import pytest
import torch
import torch.nn.functional as F

from olmo_green.config import TrainConfig, apply_overrides
from olmo_green.errors import ConfigError
from olmo_green.model.build import build_model, model_config
from olmo_green.model.distributed import DistEnv
from olmo_green.model.trainer import IGNORE, z_loss_sum
from tests.model.helpers import byte_data, make_trainer, small_config, train_losses

pytestmark = pytest.mark.usefixtures("one_thread")


def test_z_loss_is_the_squared_log_normaliser_of_the_targeted_tokens():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5], [9.0, 1.0, 1.0]])
    labels = torch.tensor([0, IGNORE, 2])
    by_hand = sum(torch.log(torch.exp(logits[i]).sum()) ** 2 for i in (0, 2))
    assert z_loss_sum(logits, labels).item() == pytest.approx(by_hand.item(), rel=1e-6)


def test_olmo2_and_3_recipes_use_the_published_z_loss_and_v1_none():
    assert apply_overrides(TrainConfig(), ["model.name=olmo2-7b"]).optim.z_loss_multiplier == 1e-5
    assert apply_overrides(TrainConfig(), ["model.name=olmo3-7b"]).optim.z_loss_multiplier == 1e-5
    assert apply_overrides(TrainConfig(), ["model.name=olmo-7b"]).optim.z_loss_multiplier == 0.0
    overridden = apply_overrides(TrainConfig(), ["model.name=olmo2-7b", "optim.z_loss_multiplier=0"])
    assert overridden.optim.z_loss_multiplier == 0.0


@pytest.mark.parametrize("value", ["-1e-5", "nan", "2"])
def test_a_bad_z_loss_multiplier_is_refused(value):
    with pytest.raises(ConfigError, match="z_loss_multiplier"):
        apply_overrides(TrainConfig(), [f"optim.z_loss_multiplier={value}"])


def test_z_loss_changes_the_update_not_the_reported_cross_entropy(tmp_path):
    data = byte_data(tmp_path / "data")
    runs = {}
    for weight in ("0", "0.1"):
        config = small_config(data, "max_steps=2", f"optim.z_loss_multiplier={weight}")
        trainer = make_trainer(config, tmp_path / f"run{weight}")
        batch = trainer.parts.loader.batch(0)
        trainer.fit()
        runs[weight] = (train_losses(tmp_path / f"run{weight}"), trainer.parts.model.state_dict())
    (plain, plain_state), (with_z, z_state) = runs["0"], runs["0.1"]
    assert with_z[0] == pytest.approx(plain[0], rel=1e-6)  # step 1 reports the same cross-entropy
    moved = [k for k in plain_state if not torch.equal(plain_state[k], z_state[k])]
    assert moved  # the z-loss's gradient changed the weights
    # and that first reported loss is the plain cross-entropy of the initial model
    model = build_model(model_config("tiny"), config.seed, torch.device("cpu"), DistEnv())
    with torch.no_grad():
        logits = model(batch["input_ids"])[:, :-1]
    expected = F.cross_entropy(logits.flatten(0, 1), batch["input_ids"][:, 1:].flatten()).item()
    assert with_z[0] == pytest.approx(expected, rel=1e-5)
