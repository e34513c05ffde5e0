"""Step metrics: FLOPs per token by PaLM's formula; MFU only where a peak is known."""

import pytest

from olmo_green.model.config import OLMoConfig
from olmo_green.model.metrics import flops_per_token, mfu


def test_flops_per_token_counts_matmul_weights_and_attention():
    config = OLMoConfig.from_preset("olmo-1b")
    # 6 x (1,176,764,416 parameters, the input embedding being a lookup but the tied head a matmul)
    # + 12 x layers x d_model x sequence
    expected = 6 * 1_176_764_416 + 12 * 16 * 2048 * 2048
    assert flops_per_token(config, 2048) == expected


def test_mfu_is_none_without_a_peak_and_a_fraction_with_one():
    assert mfu(1000.0, 6e9, None, 8) is None
    assert mfu(1000.0, 6e9, 312e12, 1) == pytest.approx(6e12 / 312e12)
