"""Parity with the reference: transformers' OlmoForCausalLM with random weights (no download).

Each case saves the reference with its own save_pretrained, loads it with
OLMo.from_pretrained and compares fp32 logits. Weights are redrawn with
std 1/sqrt(fan_in) so attention scores are O(1): with transformers' 0.02 init,
attention is nearly uniform and a wrong rotary or q/k mapping could hide.
"""

import math

import pytest
import torch
import transformers  # the reference: a test dependency, so its absence fails, never skips

from olmo_green.model.olmo import OLMo

REL_TOL = 1e-5
BASE = dict(vocab_size=131, hidden_size=64, intermediate_size=88, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=64, eos_token_id=3, pad_token_id=1)
CASES = {
    "tied": dict(tie_word_embeddings=True),
    "untied": dict(tie_word_embeddings=False),
    "tied-clip-qkv": dict(tie_word_embeddings=True, clip_qkv=0.5),
    "untied-clip-qkv": dict(tie_word_embeddings=False, clip_qkv=0.5),
    # odd sizes: 3 heads of 32, an odd vocabulary, an intermediate size not a power of two
    "odd-sizes": dict(hidden_size=96, num_attention_heads=3, vocab_size=97, intermediate_size=72,
                      num_hidden_layers=3, tie_word_embeddings=False, rope_theta=500.0),
}


def reference_model(**overrides) -> torch.nn.Module:
    torch.manual_seed(0)
    config = transformers.OlmoConfig(**{**BASE, **overrides})
    model = transformers.OlmoForCausalLM(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 1.0 / math.sqrt(p.shape[-1]))
    return model


def relative_error(ours: torch.Tensor, reference: torch.Tensor) -> float:
    return ((ours - reference).norm() / reference.norm()).item()


@torch.no_grad()
def logits_of_both(reference, ours, vocab_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.randint(0, vocab_size, (2, 33), generator=torch.Generator().manual_seed(1))
    return ours(ids), reference(ids).logits


@pytest.mark.parametrize("case", sorted(CASES))
def test_logits_equal_the_reference_after_from_pretrained(case, tmp_path):
    reference = reference_model(**CASES[case])
    reference.save_pretrained(tmp_path)
    ours = OLMo.from_pretrained(tmp_path).eval()
    assert ours.config.weight_tying == reference.config.tie_word_embeddings
    assert ours.config.clip_qkv == reference.config.clip_qkv
    logits, expected = logits_of_both(reference, ours, reference.config.vocab_size)
    assert logits.shape == expected.shape
    assert relative_error(logits, expected) < REL_TOL


def test_clip_qkv_is_active_in_the_parity_cases():
    # Otherwise the clip_qkv cases would pass with clipping ignored.
    clipped = reference_model(clip_qkv=0.5)
    unclipped = reference_model()  # same seed, so the same weights
    a, b = logits_of_both(clipped, lambda ids: unclipped(ids).logits, BASE["vocab_size"])
    assert relative_error(a, b) > 1e-2


def test_parity_detects_swapped_up_and_gate(tmp_path):
    # The halves of ff_proj are the easiest thing to get wrong: show the test would see it.
    reference = reference_model()
    reference.save_pretrained(tmp_path)
    ours = OLMo.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        for block in ours.transformer.blocks:
            up, gate = block.ff_proj.weight.chunk(2, dim=0)
            block.ff_proj.weight.copy_(torch.cat((gate, up), dim=0))
    logits, expected = logits_of_both(reference, ours, BASE["vocab_size"])
    assert relative_error(logits, expected) > 1e-2


@pytest.mark.parametrize("case", ["tied", "untied-clip-qkv"])
def test_reference_loads_what_we_save(case, tmp_path):
    reference = reference_model(**CASES[case])
    reference.save_pretrained(tmp_path / "reference")
    ours = OLMo.from_pretrained(tmp_path / "reference").eval()
    ours.save_pretrained(tmp_path / "ours")
    reloaded = transformers.OlmoForCausalLM.from_pretrained(tmp_path / "ours").eval()
    logits, expected = logits_of_both(reloaded, ours, BASE["vocab_size"])
    assert relative_error(logits, expected) < REL_TOL
    for name, tensor in reference.state_dict().items():
        assert torch.equal(reloaded.state_dict()[name], tensor), name


def test_sharded_reference_checkpoint_loads(tmp_path):
    reference = reference_model(tie_word_embeddings=False)
    reference.save_pretrained(tmp_path, max_shard_size="50KB")
    assert (tmp_path / "model.safetensors.index.json").exists()
    ours = OLMo.from_pretrained(tmp_path).eval()
    logits, expected = logits_of_both(reference, ours, BASE["vocab_size"])
    assert relative_error(logits, expected) < REL_TOL


def test_rotary_equals_the_reference_bit_for_bit():
    from transformers.models.olmo import modeling_olmo

    from olmo_green.model.olmo import RotaryEmbedding, apply_rotary

    B, T, nh, hs = 2, 11, 3, 32
    q, k = torch.randn(2, B, T, nh, hs, generator=torch.Generator().manual_seed(2))
    config = transformers.OlmoConfig(hidden_size=nh * hs, num_attention_heads=nh, rope_theta=10_000.0)
    cos_ref, sin_ref = modeling_olmo.OlmoRotaryEmbedding(config)(q, torch.arange(T)[None])
    q_ref, k_ref = modeling_olmo.apply_rotary_pos_emb(q.transpose(1, 2), k.transpose(1, 2), cos_ref, sin_ref)
    cos, sin = RotaryEmbedding(hs, 10_000.0)(T, q.device)
    assert torch.equal(apply_rotary(q, cos, sin).transpose(1, 2), q_ref)
    assert torch.equal(apply_rotary(k, cos, sin).transpose(1, 2), k_ref)


def test_sharded_save_is_read_by_the_reference_and_by_us(tmp_path):
    from olmo_green.model import interop

    ours = OLMo.from_pretrained(_saved_reference(tmp_path / "reference")).eval()
    interop.save_hf(ours, tmp_path / "ours", max_shard_bytes=40_000)
    assert len(list((tmp_path / "ours").glob("model-*-of-*.safetensors"))) > 1
    assert not (tmp_path / "ours" / "model.safetensors").exists()
    reloaded = transformers.OlmoForCausalLM.from_pretrained(tmp_path / "ours").eval()
    logits, expected = logits_of_both(reloaded, ours, BASE["vocab_size"])
    assert relative_error(logits, expected) < REL_TOL
    again = OLMo.from_pretrained(tmp_path / "ours")
    for name, tensor in ours.state_dict().items():
        assert torch.equal(again.state_dict()[name], tensor), name


def _saved_reference(path, **overrides):
    reference_model(**{"tie_word_embeddings": False, **overrides}).save_pretrained(path)
    return path
