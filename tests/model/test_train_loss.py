"""The step loss is the mean next-token cross entropy over unmasked targets of the global batch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from olmo_green.model.build import build_model, model_config
from olmo_green.model.distributed import DistEnv
from tests.model.helpers import (
    byte_data,
    make_trainer,
    small_config,
    train_losses,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_first_loss_is_masked_mean_cross_entropy_over_micro_batches(tmp_path):
    data = byte_data(tmp_path / "data")
    n_tokens = (data / "input_ids.npy").stat().st_size // 2
    mask = np.random.default_rng(0).random(n_tokens) < 0.5
    mask.tofile(data / "label_mask.npy")
    config = small_config(data, "max_steps=1")  # 8 instances in 2 micro-batches of 4
    trainer = make_trainer(config, tmp_path / "run")
    batch = trainer.parts.loader.batch(0)
    trainer.fit()

    model = build_model(model_config("tiny"), config.seed, torch.device("cpu"), DistEnv())  # same init
    with torch.no_grad():
        logits = model(batch["input_ids"])[:, :-1]
    targets = batch["input_ids"][:, 1:]
    keep = batch["label_mask"][:, 1:]
    expected = F.cross_entropy(logits[keep], targets[keep]).item()
    assert train_losses(tmp_path / "run")[0] == pytest.approx(expected, rel=1e-5)
