"""Parity with transformers' Olmo2ForCausalLM and Olmo3ForCausalLM, random weights, no download.

Each case saves the reference with its own save_pretrained, loads it with
OLMo.from_pretrained and compares fp32 logits (relative error below 1e-5).
Matrices are redrawn with std 1/sqrt(fan_in) so attention scores are O(1), and
norm weights around 1 with noise, so a wrong norm mapping cannot hide.
Sequences are 33 tokens: longer than every sliding window below.
"""

import math

import pytest
import torch
import transformers  # the reference: a test dependency, so its absence fails, never skips

from olmo_green.model.olmo import OLMo

REL_TOL = 1e-5
SEQ_LEN = 33
BASE = dict(vocab_size=131, hidden_size=64, intermediate_size=88, num_hidden_layers=4,
            num_attention_heads=4, max_position_embeddings=64, eos_token_id=3, pad_token_id=1,
            rms_norm_eps=1e-6)
# odd sizes: 3 heads of 32, an odd vocabulary, an intermediate size not a power of two
ODD = dict(hidden_size=96, num_attention_heads=3, vocab_size=97, intermediate_size=72, num_hidden_layers=3)
OLMO2_CASES = {
    "mha": dict(),
    "gqa": dict(num_key_value_heads=2),
    "mqa-odd-sizes": dict(**ODD, num_key_value_heads=1, rope_theta=500.0),
    "tied": dict(tie_word_embeddings=True),
}
OLMO3_CASES = {
    "gqa-window-8": dict(num_key_value_heads=2, sliding_window=8),
    "mha-window-5": dict(sliding_window=5),
    "odd-sizes-window-7": dict(**ODD, num_key_value_heads=3, sliding_window=7),
    # a pattern other than the released 3:1, read from layer_types
    "custom-layer-types": dict(num_key_value_heads=2, sliding_window=6,
                               layer_types=["full_attention", "sliding_attention",
                                            "full_attention", "sliding_attention"]),
    "window-longer-than-sequence": dict(num_key_value_heads=2, sliding_window=64),
}
REFERENCES = {"olmo2": (transformers.Olmo2Config, transformers.Olmo2ForCausalLM),
              "olmo3": (transformers.Olmo3Config, transformers.Olmo3ForCausalLM)}


def reference_model(family: str, **overrides) -> torch.nn.Module:
    torch.manual_seed(0)
    config_class, model_class = REFERENCES[family]
    model = model_class(config_class(**{**BASE, **overrides})).eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 1:  # norm weights
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.normal_(0.0, 1.0 / math.sqrt(p.shape[-1]))
    return model


def relative_error(ours: torch.Tensor, reference: torch.Tensor) -> float:
    return ((ours - reference).norm() / reference.norm()).item()


@torch.no_grad()
def logits_of_both(reference, ours) -> tuple[torch.Tensor, torch.Tensor]:
    vocab = reference.config.vocab_size
    ids = torch.randint(0, vocab, (2, SEQ_LEN), generator=torch.Generator().manual_seed(1))
    return ours(ids), reference(ids).logits


def loaded(reference, path) -> OLMo:
    reference.save_pretrained(path)
    return OLMo.from_pretrained(path).eval()


@pytest.mark.parametrize("family,case", [("olmo2", c) for c in sorted(OLMO2_CASES)]
                         + [("olmo3", c) for c in sorted(OLMO3_CASES)])
def test_logits_equal_the_reference(family, case, tmp_path):
    overrides = {**OLMO2_CASES, **OLMO3_CASES}[case]
    reference = reference_model(family, **overrides)
    ours = loaded(reference, tmp_path)
    assert ours.config.family == family
    assert ours.config.kv_heads == reference.config.num_key_value_heads
    logits, expected = logits_of_both(reference, ours)
    assert logits.shape == expected.shape
    assert relative_error(logits, expected) < REL_TOL


def test_the_olmo3_cases_exercise_the_window(tmp_path):
    # With the window ignored the logits would differ: parity above is not by accident.
    windowed = loaded(reference_model("olmo3", num_key_value_heads=2, sliding_window=8), tmp_path / "a")
    unwindowed = reference_model("olmo3", num_key_value_heads=2, sliding_window=64)  # same weights
    logits, expected = logits_of_both(unwindowed, windowed)
    assert relative_error(logits, expected) > 1e-3


def test_the_layer_types_are_read_not_assumed(tmp_path):
    custom = OLMO3_CASES["custom-layer-types"]
    ours = loaded(reference_model("olmo3", **custom), tmp_path)
    assert [block.window for block in ours.transformer.blocks] == [None, 6, None, 6]


def test_parity_detects_swapped_q_and_k_norms(tmp_path):
    # QK-norm weights are easy to misplace: show the test would see it.
    reference = reference_model("olmo2")
    ours = loaded(reference, tmp_path)
    with torch.no_grad():
        for block in ours.transformer.blocks:
            q, k = block.q_norm.weight.clone(), block.k_norm.weight.clone()
            block.q_norm.weight.copy_(k)
            block.k_norm.weight.copy_(q)
    logits, expected = logits_of_both(reference, ours)
    assert relative_error(logits, expected) > 1e-3


@pytest.mark.parametrize("family", ["olmo2", "olmo3"])
def test_transformers_loads_what_we_save(family, tmp_path):
    # The other direction: our save_pretrained is a directory transformers reads as the same model.
    window = dict(sliding_window=8) if family == "olmo3" else {}
    reference = reference_model(family, num_key_value_heads=2, **window)
    ours = loaded(reference, tmp_path / "ref")
    ours.save_pretrained(tmp_path / "ours")
    _, model_class = REFERENCES[family]
    again = model_class.from_pretrained(tmp_path / "ours", dtype=torch.float32).eval()
    assert again.config.num_key_value_heads == 2
    if family == "olmo3":
        assert (again.config.sliding_window, again.config.layer_types) == (8, reference.config.layer_types)
    logits, expected = logits_of_both(again, ours)
    assert relative_error(logits, expected) < REL_TOL
