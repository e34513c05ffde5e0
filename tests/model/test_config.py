"""Preset parameter counts equal the published OLMo v1 ones (no weights allocated)."""

import pytest
import torch

from olmo_green.model.config import OLMoConfig
from olmo_green.model.olmo import OLMo

PUBLISHED = {"olmo-1b": 1_176_764_416, "olmo-7b": 6_888_095_744}


@pytest.mark.parametrize("preset", sorted(PUBLISHED))
def test_preset_parameter_count_equals_published(preset):
    with torch.device("meta"):  # shapes only: a 7B model costs nothing here
        model = OLMo.from_preset(preset, init=False)
    assert model.num_params() == PUBLISHED[preset]
    assert OLMoConfig.from_preset(preset).num_params() == PUBLISHED[preset]


@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_cpu_presets_are_cpu_sized(preset):
    count = OLMoConfig.from_preset(preset).num_params()
    assert count < 2_000_000 if preset == "tiny" else 20_000_000 <= count <= 80_000_000


def test_logits_cover_the_embedding_size():
    model = OLMo.from_preset("tiny")
    logits = model(torch.randint(0, 257, (2, 5)))
    assert logits.shape == (2, 5, model.config.embedding_size)
