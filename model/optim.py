"""AdamW, the learning-rate schedule and gradient clipping, as OLMo trained.

Formulas after allenai/OLMo v0.2.5 olmo/optim.py, evaluated at the 1-based
optimizer step (OLMo increments global_step before it sets the rate):

    warmup (step < W):  lr = peak * (s + (1 - s) * min(step, W) / W),  s = warmup_start
                        (0.1 in OLMo v1; 0 in OLMo 2 and 3, OLMo-core's warmup_min_lr 0)
    cosine:             lr = min + (peak - min) * (1 + cos(pi * (step - W) / (T - W))) / 2
    linear:             lr = peak - (peak - min) * (step - W) / (T - W)
    after T:            lr = min,  where min = alpha_f * peak and T = t_max or max_steps

The clipping threshold is max_grad_norm, times grad_clip_warmup_factor while
step <= grad_clip_warmup_steps when both are set.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from olmo_green.config import OptimSection, ScheduleSection


def param_groups(model: nn.Module, weight_decay: float, decay_norm_and_bias: bool = False) -> list[dict]:
    """Decay the weight matrices of linear layers, never embeddings; norm weights and biases
    only with decay_norm_and_bias (OLMo's option; OLMo 2 and 3 set it)."""
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    decay, no_decay = [], []
    for param in model.parameters():
        if not param.requires_grad:
            continue
        decays = id(param) not in embeddings and (param.dim() >= 2 or decay_norm_and_bias)
        (decay if decays else no_decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def build_optimizer(model: nn.Module, cfg: OptimSection) -> torch.optim.AdamW:
    """AdamW over OLMo's parameter groups: the fused kernel on GPUs (one launch for all
    parameters), the multi-tensor foreach update on CPU. Both compute AdamW's update."""
    return torch.optim.AdamW(param_groups(model, cfg.weight_decay, cfg.decay_norm_and_bias), lr=cfg.lr,
                             betas=tuple(cfg.betas), eps=cfg.eps, **optimizer_kernel(model))


def optimizer_kernel(model: nn.Module) -> dict[str, bool]:
    """fused=True where the parameters are on a GPU (CUDA or ROCm), else foreach=True."""
    on_gpu = next(model.parameters()).device.type == "cuda"
    return {"fused": True} if on_gpu else {"foreach": True}


def learning_rate(step: int, peak: float, schedule: ScheduleSection, max_steps: int) -> float:
    """The rate for 1-based optimizer step `step`."""
    warmup = schedule.warmup_steps
    horizon = schedule.t_max or max_steps
    floor = peak * schedule.alpha_f
    if step < warmup:
        start = schedule.warmup_start  # 1 - 0.1 is exactly 0.9: OLMo v1's rates are unchanged
        return peak * (start + (1 - start) * min(step, warmup) / warmup)
    if step >= horizon:
        return floor
    progress = (step - warmup) / (horizon - warmup)
    if schedule.name == "cosine":
        return floor + (peak - floor) * (1 + math.cos(math.pi * progress)) / 2
    return peak - (peak - floor) * progress


def max_grad_norm(step: int, cfg: OptimSection) -> float:
    """The clipping threshold at `step`, relaxed during the optional clipping warmup."""
    if cfg.grad_clip_warmup_steps is None or cfg.grad_clip_warmup_factor is None:
        return cfg.max_grad_norm
    if step > cfg.grad_clip_warmup_steps:
        return cfg.max_grad_norm
    return cfg.max_grad_norm * cfg.grad_clip_warmup_factor


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def clip_gradients(parameters: list[torch.Tensor], max_norm: float) -> torch.Tensor:
    """Global-norm clipping over all ranks' shards; returns the norm before clipping."""
    norm = torch.nn.utils.clip_grad_norm_(parameters, max_norm, foreach=True)
    # under FSDP2 the norm is a DTensor: its full value is the all-reduced global norm
    return norm.full_tensor() if hasattr(norm, "full_tensor") else norm
