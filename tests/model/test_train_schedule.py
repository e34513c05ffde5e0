"""Learning rate and clipping threshold equal OLMo v1's formulas at chosen steps.

Expected values are worked out by hand from olmo/optim.py (v0.2.5): warmup from
0.1x peak, then cosine or linear to alpha_f x peak at t_max (or max_steps).
"""

import pytest
import torch

from olmo_green.config import OptimSection, ScheduleSection
from olmo_green.model.olmo import OLMo
from olmo_green.model.optim import build_optimizer, learning_rate, max_grad_norm

PEAK, MAX_STEPS = 1e-3, 110


@pytest.mark.parametrize("name, step, expected", [
    ("cosine", 0, 1e-4),  # warmup starts at 0.1 x peak
    ("cosine", 5, 5.5e-4),  # halfway through warmup: 0.1 + 0.9 * 0.5
    ("cosine", 10, 1e-3),  # end of warmup: the peak
    ("cosine", 35, 1e-4 + 9e-4 * 0.8535533905932737),  # (1 + cos(pi/4)) / 2
    ("cosine", 60, 5.5e-4),  # half the decay
    ("cosine", 110, 1e-4),  # alpha_f x peak at the horizon
    ("cosine", 500, 1e-4),  # and after it
    ("linear", 35, 7.75e-4),  # a quarter of the decay
    ("linear", 60, 5.5e-4),
    ("linear", 110, 1e-4),
])
def test_learning_rate_matches_olmo_formulas(name, step, expected):
    schedule = ScheduleSection(name=name, warmup_steps=10, alpha_f=0.1)
    assert learning_rate(step, PEAK, schedule, MAX_STEPS) == pytest.approx(expected, rel=1e-12)


def test_t_max_sets_the_decay_horizon_instead_of_max_steps():
    schedule = ScheduleSection(name="linear", warmup_steps=10, alpha_f=0.0, t_max=20)
    assert learning_rate(15, PEAK, schedule, MAX_STEPS) == pytest.approx(5e-4)
    assert learning_rate(20, PEAK, schedule, MAX_STEPS) == 0.0


def test_clipping_warmup_relaxes_the_threshold_until_its_last_step():
    optim = OptimSection(max_grad_norm=1.0, grad_clip_warmup_steps=1000, grad_clip_warmup_factor=10.0)
    assert max_grad_norm(1, optim) == 10.0
    assert max_grad_norm(1000, optim) == 10.0
    assert max_grad_norm(1001, optim) == 1.0
    assert max_grad_norm(1, OptimSection()) == 1.0


def test_weight_decay_skips_embeddings_and_keeps_olmo_adamw_settings():
    model = OLMo.from_preset("tiny")
    optimizer = build_optimizer(model, OptimSection())
    decayed, plain = optimizer.param_groups
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    assert any(p is model.transformer.wte.weight for p in plain["params"])
    assert all(p.dim() == 2 for p in decayed["params"])
    assert optimizer.defaults["eps"] == 1e-5 and optimizer.defaults["betas"] == (0.9, 0.95)
    assert isinstance(optimizer, torch.optim.AdamW)
