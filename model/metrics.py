"""Throughput metrics: training FLOPs per token and model FLOPs utilisation (MFU)."""

from __future__ import annotations

from olmo_green.model.config import OLMoConfig
from olmo_green.record.steps import mfu  # the one MFU formula: steps.csv's `mfu` column uses it too

__all__ = ["flops_per_token", "mfu"]


def flops_per_token(config: OLMoConfig, sequence_length: int) -> float:
    """Training FLOPs per token: 6 x matmul parameters + attention (PaLM, appendix B).

    Matmul parameters exclude the input embedding (a lookup) but include the output head.
    Attention is 12 x d_model FLOPs per key a query sees, per layer: the whole sequence,
    or a sliding-window layer's window when that is shorter (OLMo-core's
    Attention.num_flops_per_token counts min(window, sequence) the same way).
    """
    head = config.embedding_size * config.d_model
    matmul_params = config.n_layers * config.block_matmul_params() + head
    keys = sum(min(config.window(i) or sequence_length, sequence_length) for i in range(config.n_layers))
    attention = 12 * config.d_model * keys
    return 6.0 * matmul_params + attention
