"""Training defaults per model family and size, from AI2's published training configs.

When `olmo-green train --model NAME` (or `--set model.name=NAME`) selects a model,
its recipe sets these configuration keys before any `--set`, so every one of them
can still be overridden. A model YAML file gets its `family`'s part only.

What OLMo 2 and 3 change from OLMo v1 (whose values are TrainConfig's defaults):

| key                       | OLMo v1 | OLMo 2, 3 | meaning                                   |
|---------------------------|---------|-----------|-------------------------------------------|
| optim.eps                 | 1e-5    | 1e-8      | AdamW's eps                               |
| optim.decay_norm_and_bias | false   | true      | norm weights decay too (embeddings never) |
| schedule.warmup_start     | 0.1     | 0.0       | rate at step 0, as a fraction of the peak |
| optim.z_loss_multiplier   | 0       | 1e-5      | z-loss weight (logsumexp(logits)^2)       |

(v1: OLMo-1B.yaml; OLMo 2: OLMo2-7B-stage1.yaml's eps, decay_norm_and_bias, warmup_min_lr
and softmax_auxiliary_loss with auxiliary_loss_multiplier 1e-5, which OLMo-core's OLMo 2 and 3
scripts pass as z_loss_multiplier.)

Sizes (sources below, per preset): peak rate, batch (instances of `model.sequence_length`
tokens), micro-batch, warmup and the cosine horizon t_max, both in steps: the published
token counts divided by the tokens of one global batch.
"""

from __future__ import annotations

from pathlib import Path

from olmo_green.model.config import PRESETS

# allenai/OLMo configs/official-1124/OLMo2-7B-stage1.yaml (optimizer, scheduler, max_grad_norm);
# OLMo-core's OLMo 2 32B and OLMo 3 scripts use the same values (SkipStepAdamWConfig's eps 1e-8,
# CosWithWarmup's alpha_f 0.1 and warmup_min_lr 0, embeddings excluded from weight decay).
_OLMO2_FAMILY = {
    "optim.eps": 1e-8,
    "optim.betas": [0.9, 0.95],
    "optim.weight_decay": 0.1,
    "optim.decay_norm_and_bias": True,
    "optim.max_grad_norm": 1.0,
    "schedule.name": "cosine",
    "schedule.alpha_f": 0.1,
    "schedule.warmup_start": 0.0,
    "optim.z_loss_multiplier": 1e-5,
}
FAMILY_RECIPES: dict[str, dict[str, object]] = {
    # TrainConfig's own defaults (OLMo-1B.yaml): listed so that every family sets the same keys
    "olmo": {"optim.eps": 1e-5, "optim.decay_norm_and_bias": False, "schedule.warmup_start": 0.1,
             "optim.z_loss_multiplier": 0.0},
    "olmo2": _OLMO2_FAMILY,
    "olmo3": _OLMO2_FAMILY,
}


def _size(lr: float, batch: int, micro: int, seq: int, warmup_steps: int,
          horizon_tokens: float | None) -> dict:
    t_max = int(horizon_tokens // (batch * seq)) if horizon_tokens else None
    return {"optim.lr": lr, "batch.global_batch_size": batch, "batch.micro_batch_size": micro,
            "model.sequence_length": seq, "schedule.warmup_steps": warmup_steps, "schedule.t_max": t_max}


SIZE_RECIPES: dict[str, dict[str, object]] = {
    # configs/official-0425/OLMo2-1B-stage1.yaml: lr 4e-4, 512 x 4096, microbatch 4,
    # t_warmup 8,388,608,000 tokens (4000 steps), t_max 5e12 tokens
    "olmo2-1b": _size(4e-4, 512, 4, 4096, 4000, 5e12),
    # configs/official-1124/OLMo2-7B-stage1.yaml: lr 3e-4, 1024 x 4096, microbatch 2,
    # t_warmup 8,388,608,000 tokens (2000 steps), t_max 5e12 tokens
    "olmo2-7b": _size(3e-4, 1024, 2, 4096, 2000, 5e12),
    # configs/official-1124/OLMo2-13B-stage1.yaml: lr 3e-4, 2048 x 4096, microbatch 2,
    # t_warmup 8,388,608,000 tokens (1000 steps), t_max 5e12 tokens
    "olmo2-13b": _size(3e-4, 2048, 2, 4096, 1000, 5e12),
    # OLMo-core src/scripts/official/OLMo2/OLMo-2-0325-32B-train.py: lr 6e-4, 2048 x 4096,
    # rank microbatch 4 x 4096, CosWithWarmup(warmup_steps=2000), 6.5e12 tokens
    "olmo2-32b": _size(6e-4, 2048, 4, 4096, 2000, 6.5e12),
    # OLMo-core src/scripts/official/OLMo3/OLMo-3-1025-7B-pretrain-1.py: lr 3e-4, 512 x 8192,
    # rank microbatch 2 x 8192, warmup 2000 steps, cosine over 5e12 tokens (part 2 later
    # stretched it to 7e12 with a half-cosine, which this schedule does not model)
    "olmo3-7b": _size(3e-4, 512, 2, 8192, 2000, 5e12),
    # OLMo-core src/scripts/official/OLMo3/OLMo-3-1025-32B-pretrain.py: lr 6e-4, 8M tokens = 1024 x 8192,
    # rank microbatch 1 x 8192, warmup 2000 steps; its horizon is one epoch of its data, not a
    # token count, so t_max stays null (the run's max_steps)
    "olmo3-32b": _size(6e-4, 1024, 1, 8192, 2000, None),
}


def recipe(model_name: str) -> dict[str, object]:
    """The configuration keys a model brings: its family's, then its size's (presets only).

    An unknown name brings nothing: building the model reports it.
    """
    family = _family_of(model_name)
    if family is None:
        return {}
    return {**FAMILY_RECIPES[family], **SIZE_RECIPES.get(model_name, {})}


def _family_of(model_name: str) -> str | None:
    if model_name in PRESETS:
        return PRESETS[model_name].get("family", "olmo")
    path = Path(model_name)
    if path.suffix not in (".yaml", ".yml") or not path.is_file():
        return None
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None  # model_config() reads it again and says what is wrong
    family = data.get("family", "olmo") if isinstance(data, dict) else None
    return family if family in FAMILY_RECIPES else None
