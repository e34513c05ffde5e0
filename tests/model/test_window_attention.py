"""Sliding-window attention: the dense CPU mask, and the FlexAttention block mask used on CUDA
(run here on CPU, uncompiled), give the same attention."""

import pytest
import torch

from olmo_green.model import olmo
from olmo_green.model.config import FULL, OLMoConfig
from olmo_green.model.olmo import OLMo, attend, window_block_mask, window_mask


def test_dense_mask_sees_itself_and_the_window_before_it():
    mask = window_mask(5, 2, torch.device("cpu"))
    expected = torch.tensor([[1, 0, 0, 0, 0],
                             [1, 1, 0, 0, 0],
                             [0, 1, 1, 0, 0],
                             [0, 0, 1, 1, 0],
                             [0, 0, 0, 1, 1]], dtype=torch.bool)
    assert torch.equal(mask, expected)


def test_flex_block_mask_attention_equals_the_dense_mask(monkeypatch):
    from torch.nn.attention.flex_attention import flex_attention

    monkeypatch.setattr(olmo, "_compiled_flex", flex_attention)  # eager: no compile in a CPU test
    torch.manual_seed(0)
    seq_len, window = 300, 64  # not a multiple of FlexAttention's 128-token blocks
    q = torch.randn(2, 4, seq_len, 32)
    k, v = torch.randn(2, 2, seq_len, 32), torch.randn(2, 2, seq_len, 32)  # grouped-query
    cpu = torch.device("cpu")
    with pytest.warns(UserWarning):  # flex_attention warns when it runs uncompiled
        flex = attend(q, k, v, window_block_mask(seq_len, window, cpu))
    dense = attend(q, k, v, window_mask(seq_len, window, cpu))
    assert (flex - dense).abs().max() < 1e-5


def test_a_window_no_shorter_than_the_sequence_is_full_attention():
    torch.manual_seed(0)
    windowed = OLMo.from_preset("olmo3-tiny").eval()  # window 64
    config = OLMoConfig(**{**windowed.config.to_dict(), "layer_types": [FULL] * 4})
    full = OLMo(config).eval()
    full.load_state_dict(windowed.state_dict())
    ids = torch.randint(0, 257, (1, 65))
    with torch.no_grad():
        assert torch.equal(windowed(ids[:, :64]), full(ids[:, :64]))
        # one token more and the last query of a sliding layer no longer sees the first key
        longer, reference = windowed(ids), full(ids)
    assert torch.allclose(longer[:, :64], reference[:, :64], atol=1e-6)  # a mask, not is_causal: not bitwise
    assert not torch.allclose(longer[:, 64], reference[:, 64])
