"""OLMo v1, read top to bottom (allenai/OLMo v0.2.5, olmo/model.py).

A decoder-only transformer: token embedding -> n_layers sequential blocks ->
final LayerNorm -> logits. Each block is pre-norm attention then pre-norm
SwiGLU MLP, both residual. Details that matter for parity with the reference:

- LayerNorm has no weight and no bias (non-parametric), eps 1e-5, in fp32.
- One fused projection for q, k, v (att_proj); optional clamp (clip_qkv).
- RoPE with theta 10000, "rotate half" layout, computed in fp32.
- SwiGLU over a fused ff_proj: first half is "up", second half the gate.
- No biases anywhere. Output weights tied to the embedding (1B) or not (7B).

Shapes: B batch, T sequence, C d_model, nh heads, hs head size, V embedding size.
"""

from __future__ import annotations

import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from olmo_green.errors import ConfigError
from olmo_green.model.config import OLMoConfig


class LayerNorm(nn.Module):
    """Non-parametric LayerNorm, computed in fp32 (as OLMo does under autocast)."""

    def __init__(self, eps: float):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.layer_norm(x.float(), (x.shape[-1],), eps=self.eps)
        return y.to(x.dtype)


class RotaryEmbedding(nn.Module):
    """Rotary position embedding in the rotate-half layout, in fp32.

    The model computes cos/sin once per forward and hands them to every block
    (they depend only on T). inv_freq is recomputed there rather than kept as a
    buffer, so a model built on the meta device (from_pretrained, FSDP2) needs
    no buffer re-initialisation.
    """

    def __init__(self, head_dim: int, theta: float):
        super().__init__()
        self.head_dim = head_dim
        self.theta = theta

    def forward(self, seq_len: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        hs = self.head_dim
        inv_freq = 1.0 / (self.theta ** (torch.arange(0, hs, 2, device=device, dtype=torch.float32) / hs))
        positions = torch.arange(seq_len, device=device, dtype=torch.float32)
        freqs = torch.outer(positions, inv_freq)  # (T, hs/2)
        cos = torch.cat((freqs.cos(), freqs.cos()), dim=-1)  # (T, hs), each frequency in both halves
        # sin with its first half negated turns rotate_half into a plain swap of halves (apply_rotary)
        sin = torch.cat((-freqs.sin(), freqs.sin()), dim=-1)  # (T, hs)
        return cos[:, None, :], sin[:, None, :]  # (T, 1, hs): broadcast over (B, T, heads, hs)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x * cos + rotate_half(x) * sin with rotate_half(x) = (-x2, x1), in fp32; x is (B, T, heads, hs).

    `sin` carries the sign of rotate_half, so only the halves are swapped here:
    x2 * (-s) equals (-x2) * s exactly, and the result is bit for bit the reference's.
    """
    xf = x.float()  # a no-op in fp32; under bf16 autocast it keeps RoPE in full precision
    x1, x2 = xf.chunk(2, dim=-1)
    return (xf * cos + torch.cat((x2, x1), dim=-1) * sin).to(x.dtype)


class OLMoBlock(nn.Module):
    """Pre-norm attention and SwiGLU MLP, applied one after the other."""

    def __init__(self, config: OLMoConfig, layer_id: int):
        super().__init__()
        self.config = config
        self.layer_id = layer_id
        d = config.d_model
        self.attn_norm = LayerNorm(config.layer_norm_eps)
        self.att_proj = nn.Linear(d, 3 * d, bias=False)
        self.attn_out = nn.Linear(d, d, bias=False)
        self.ff_norm = LayerNorm(config.layer_norm_eps)
        self.ff_proj = nn.Linear(d, config.mlp_hidden_size, bias=False)
        self.ff_out = nn.Linear(config.mlp_hidden_size // 2, d, bias=False)

    def attention(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        qkv = self.att_proj(x)  # (B, T, 3C)
        if self.config.clip_qkv is not None:
            qkv = qkv.clamp(min=-self.config.clip_qkv, max=self.config.clip_qkv)
        nh, hs = self.config.n_heads, self.config.head_dim
        qk, v = qkv.split((2 * C, C), dim=-1)
        # q and k rotate in one go: half the elementwise kernels of rotating each
        qk = apply_rotary(qk.view(B, T, 2 * nh, hs), cos, sin)  # (B, T, 2nh, hs)
        q, k = qk.split(nh, dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, nh, T, hs)
        return self.attn_out(y.transpose(1, 2).reshape(B, T, C))

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        up, gate = self.ff_proj(x).chunk(2, dim=-1)  # each (B, T, mlp_hidden/2)
        return self.ff_out(F.silu(gate) * up)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.attn_norm(x), cos, sin)
        return x + self.mlp(self.ff_norm(x))


class OLMo(nn.Module):
    """The OLMo v1 language model: `model(input_ids)` -> logits (B, T, embedding_size)."""

    def __init__(self, config: OLMoConfig, init: bool = True):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.embedding_size, config.d_model),
            blocks=nn.ModuleList(OLMoBlock(config, i) for i in range(config.n_layers)),
            ln_f=LayerNorm(config.layer_norm_eps),
        ))
        self.rotary = RotaryEmbedding(config.head_dim, config.rope_theta)  # no parameters
        if not config.weight_tying:
            self.transformer["ff_out"] = nn.Linear(config.d_model, config.embedding_size, bias=False)
        if init:
            self.reset_parameters()

    @classmethod
    def from_preset(cls, name: str, init: bool = True) -> OLMo:
        return cls(OLMoConfig.from_preset(name), init=init)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, dtype: torch.dtype | None = None) -> OLMo:
        """Load a Hugging Face OLMo directory or a native OLMo checkpoint (see model/interop.py).

        dtype None keeps the stored dtype. Raises InputFileError if `path` is neither.
        """
        from olmo_green.model import interop  # interop imports this module

        return interop.load(path, dtype=dtype)

    def save_pretrained(self, path: str | os.PathLike, format: str = "hf") -> None:
        """Write Hugging Face format ("hf": config.json + model.safetensors) or native
        OLMo format ("olmo": model.pt + config.yaml) to the directory `path`."""
        from olmo_green.model import interop

        savers = {"hf": interop.save_hf, "olmo": interop.save_native}
        if format not in savers:
            raise ConfigError(f"unknown checkpoint format {format!r}; use 'hf' or 'olmo'")
        savers[format](self, path)

    def reset_parameters(self) -> None:
        """OLMo's "mitchell" init: truncated normal at +-3 sigma, sigma = 1/sqrt(d_in);
        output projections further scaled by 1/sqrt(2 (layer + 1))."""
        d = self.config.d_model
        _trunc_normal(self.transformer.wte.weight, 1.0 / math.sqrt(d))
        for block in self.transformer.blocks:
            depth_scale = 1.0 / math.sqrt(2.0 * (block.layer_id + 1))
            _trunc_normal(block.att_proj.weight, 1.0 / math.sqrt(d))
            _trunc_normal(block.ff_proj.weight, 1.0 / math.sqrt(d))
            _trunc_normal(block.attn_out.weight, depth_scale / math.sqrt(d))
            _trunc_normal(block.ff_out.weight, depth_scale / math.sqrt(block.ff_out.in_features))
        if not self.config.weight_tying:
            _trunc_normal(self.transformer.ff_out.weight, 1.0 / math.sqrt(d))

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        x = self.transformer.wte(input_ids)  # (B, T, C)
        cos, sin = self.rotary(input_ids.shape[1], input_ids.device)  # shared by all blocks
        for block in self.transformer.blocks:
            x = block(x, cos, sin)
        x = self.transformer.ln_f(x)
        if self.config.weight_tying:
            return F.linear(x, self.transformer.wte.weight)  # (B, T, V)
        return self.transformer.ff_out(x)  # (B, T, V)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


@torch.no_grad()
def _trunc_normal(weight: torch.Tensor, std: float) -> None:
    nn.init.trunc_normal_(weight, mean=0.0, std=std, a=-3 * std, b=3 * std)
