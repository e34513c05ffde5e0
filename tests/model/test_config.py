"""The CPU presets are small and build; the released presets' counts are in test_family_presets.py."""

import pytest
import torch

from olmo_green.model.config import OLMoConfig
from olmo_green.model.olmo import OLMo


@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_cpu_presets_are_cpu_sized(preset):
    count = OLMoConfig.from_preset(preset).num_params()
    assert count < 2_000_000 if preset == "tiny" else 20_000_000 <= count <= 80_000_000


def test_logits_cover_the_embedding_size():
    model = OLMo.from_preset("tiny")
    logits = model(torch.randint(0, 257, (2, 5)))
    assert logits.shape == (2, 5, model.config.embedding_size)
