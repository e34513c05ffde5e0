"""OLMo v1, OLMo 2 and OLMo 3, read top to bottom: one model, switched by `config.family`.

A decoder-only transformer: token embedding -> n_layers sequential blocks ->
final norm -> logits. Each block is attention then a SwiGLU MLP, both residual.
Details that matter for parity with the references:

OLMo v1 (allenai/OLMo v0.2.5, olmo/model.py; transformers' OlmoForCausalLM):
- LayerNorm with no weight and no bias, before each sublayer, eps 1e-5, in fp32.
- One fused projection for q, k, v (att_proj); optional clamp (clip_qkv).
- Mitchell init. Output weights tied to the embedding (1B) or not (7B).

OLMo 2 (OLMo-core TransformerBlockType.reordered_norm; transformers' Olmo2ForCausalLM):
- RMSNorm with weights, in fp32, applied to each sublayer's output ("reordered norm"):
  h = x + norm(attn(x)), out = h + norm(mlp(h)); and RMSNorm over the full q and k
  projections before RoPE (QK-norm). Grouped-query attention when n_kv_heads < n_heads.
- Normal init, std 0.02 cut at 3 sigma; untied head; RoPE theta 500,000.

OLMo 3 (transformers' Olmo3ForCausalLM): OLMo 2 plus sliding-window attention on the
layers config.layer_types names: query i sees keys i - window + 1 .. i. On CPU that is a
dense boolean mask; on CUDA a FlexAttention block mask, whose kernel skips whole blocks
outside the window.

All families: RoPE in the "rotate half" layout, in fp32; SwiGLU over a fused ff_proj
(first half "up", second half the gate); no biases; SDPA for attention.

Shapes: B batch, T sequence, C d_model, nh heads, nkv key/value heads, hs head size,
V embedding size.
"""

from __future__ import annotations

import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from olmo_green.errors import ConfigError
from olmo_green.model.config import OLMoConfig

OLMO2_INIT_STD = 0.02  # configs/official-1124/OLMo2-7B-stage1.yaml: init_fn normal, init_std 0.02


class LayerNorm(nn.Module):
    """Non-parametric LayerNorm, computed in fp32 (as OLMo does under autocast)."""

    def __init__(self, eps: float):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.layer_norm(x.float(), (x.shape[-1],), eps=self.eps)
        return y.to(x.dtype)


class RMSNorm(nn.Module):
    """RMSNorm with a weight, computed in fp32 (transformers' Olmo2RMSNorm, OLMo's RMSLayerNorm)."""

    def __init__(self, size: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.rms_norm(x.float(), (x.shape[-1],), self.weight.float(), self.eps)
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


# --- attention -------------------------------------------------------------------


def window_mask(seq_len: int, window: int, device: torch.device):
    """Causal attention within `window` tokens, built once per forward for all layers that use it.

    CUDA: a FlexAttention BlockMask (window_block_mask). Elsewhere: a dense (T, T) boolean
    mask for SDPA, True where attention is allowed.
    """
    if device.type == "cuda":
        return window_block_mask(seq_len, window, device)
    positions = torch.arange(seq_len, device=device)
    distance = positions[:, None] - positions[None, :]  # (T, T): query index minus key index
    return (distance >= 0) & (distance < window)


def window_block_mask(seq_len: int, window: int, device: torch.device):
    """The same mask as a FlexAttention BlockMask: blocks wholly outside the window are never computed."""
    from torch.nn.attention.flex_attention import create_block_mask

    def sliding(batch, head, q_idx, kv_idx):
        return (kv_idx <= q_idx) & (q_idx - kv_idx < window)

    return create_block_mask(sliding, None, None, seq_len, seq_len, device=device)


_compiled_flex = None


def _flex_attention():
    """FlexAttention compiled once: uncompiled, it falls back to a slow dense reference."""
    global _compiled_flex
    if _compiled_flex is None:
        from torch.nn.attention.flex_attention import flex_attention

        _compiled_flex = torch.compile(flex_attention, dynamic=False)
    return _compiled_flex


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask=None) -> torch.Tensor:
    """Scaled dot-product attention, causal; q (B, nh, T, hs), k and v (B, nkv, T, hs).

    `mask` None: full causal attention. A tensor: a dense mask (window_mask on CPU).
    Otherwise a FlexAttention BlockMask (window_mask on CUDA).
    """
    gqa = q.shape[1] != k.shape[1]  # SDPA and FlexAttention repeat k, v over the groups themselves
    if mask is None:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=gqa)
    if isinstance(mask, torch.Tensor):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=gqa)
    return _flex_attention()(q, k, v, block_mask=mask, enable_gqa=gqa)


def linear_parts(linear: nn.Linear, x: torch.Tensor, sizes: tuple[int, ...]) -> tuple[torch.Tensor, ...]:
    """x through a fused linear layer as one matmul per block of its output rows.

    The weight stays one parameter (OLMo's att_proj, ff_proj), but each block is its own
    matmul, so backward joins the blocks' small weight gradients rather than their large
    activation gradients: about 5% faster a training step than one fused matmul on CPU at
    olmo2-tiny's shapes (benchmarks/train_step.py). OLMo v1 keeps its fused matmuls.
    """
    return tuple(F.linear(x, w) for w in linear.weight.split(sizes, dim=0))


# --- the block -------------------------------------------------------------------


class OLMoBlock(nn.Module):
    """Attention and SwiGLU MLP, one after the other; norms before (v1) or after (OLMo 2, 3) each."""

    def __init__(self, config: OLMoConfig, layer_id: int):
        super().__init__()
        self.config = config
        self.layer_id = layer_id
        self.window = config.window(layer_id)  # None: full causal attention
        self.checkpoint_activations = False  # recompute in backward (model/efficiency.py)
        d, kv = config.d_model, config.kv_heads * config.head_dim
        self.attn_norm = self._norm(d)
        self.att_proj = nn.Linear(d, d + 2 * kv, bias=False)  # q, k, v fused
        self.attn_out = nn.Linear(d, d, bias=False)
        self.ff_norm = self._norm(d)
        self.ff_proj = nn.Linear(d, config.mlp_hidden_size, bias=False)
        self.ff_out = nn.Linear(config.mlp_hidden_size // 2, d, bias=False)
        if config.reordered_norm:  # QK-norm over the full projections, as OLMo 2's q_norm and k_norm
            self.q_norm = RMSNorm(d, config.layer_norm_eps)
            self.k_norm = RMSNorm(kv, config.layer_norm_eps)

    def _norm(self, size: int) -> nn.Module:
        if self.config.reordered_norm:
            return RMSNorm(size, self.config.layer_norm_eps)
        return LayerNorm(self.config.layer_norm_eps)

    def attention(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask=None) -> torch.Tensor:
        B, T, C = x.shape
        nh, nkv, hs = self.config.n_heads, self.config.kv_heads, self.config.head_dim
        if self.config.reordered_norm:
            q, k, v = linear_parts(self.att_proj, x, (C, nkv * hs, nkv * hs))  # (B, T, C), (B, T, nkv hs) x2
            # QK-norm before RoPE, over all heads at once; q and k rotate apart (no copy to join them)
            q = apply_rotary(self.q_norm(q).view(B, T, nh, hs), cos, sin)  # (B, T, nh, hs)
            k = apply_rotary(self.k_norm(k).view(B, T, nkv, hs), cos, sin)  # (B, T, nkv, hs)
        else:
            qkv = self.att_proj(x)  # (B, T, 3C)
            if self.config.clip_qkv is not None:
                qkv = qkv.clamp(min=-self.config.clip_qkv, max=self.config.clip_qkv)
            qk, v = qkv.split((2 * C, C), dim=-1)
            # q and k rotate in one go: half the elementwise kernels of rotating each
            qk = apply_rotary(qk.view(B, T, 2 * nh, hs), cos, sin)  # (B, T, 2nh, hs)
            q, k = qk.split(nh, dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.view(B, T, nkv, hs).transpose(1, 2)
        y = attend(q, k, v, mask)  # (B, nh, T, hs)
        return self.attn_out(y.transpose(1, 2).reshape(B, T, C))

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        half = self.config.mlp_hidden_size // 2
        if self.config.reordered_norm:
            up, gate = linear_parts(self.ff_proj, x, (half, half))  # each (B, T, mlp_hidden/2)
        else:
            up, gate = self.ff_proj(x).chunk(2, dim=-1)  # each (B, T, mlp_hidden/2)
        return self.ff_out(F.silu(gate) * up)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask=None) -> torch.Tensor:
        if self.config.reordered_norm:
            x = x + self.attn_norm(self.attention(x, cos, sin, mask))
            return x + self.ff_norm(self.mlp(x))
        x = x + self.attention(self.attn_norm(x), cos, sin, mask)
        return x + self.mlp(self.ff_norm(x))


# --- the model -------------------------------------------------------------------


class OLMo(nn.Module):
    """An OLMo language model of any family: `model(input_ids)` -> logits (B, T, embedding_size)."""

    def __init__(self, config: OLMoConfig, init: bool = True):
        super().__init__()
        self.config = config
        final_norm = RMSNorm(config.d_model, config.layer_norm_eps) if config.reordered_norm \
            else LayerNorm(config.layer_norm_eps)
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.embedding_size, config.d_model),
            blocks=nn.ModuleList(OLMoBlock(config, i) for i in range(config.n_layers)),
            ln_f=final_norm,
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
        from olmo_green.model import interop  # safetensors and yaml only when a checkpoint is read

        return interop.load(path, cls, dtype=dtype)

    def save_pretrained(self, path: str | os.PathLike, format: str = "hf") -> None:
        """Write Hugging Face format ("hf": config.json + model.safetensors) or native
        OLMo format ("olmo": model.pt + config.yaml) to the directory `path`."""
        from olmo_green.model import interop  # the formats take the class: they never import this module

        savers = {"hf": interop.save_hf, "olmo": interop.save_native}
        if format not in savers:
            raise ConfigError(f"unknown checkpoint format {format!r}; use 'hf' or 'olmo'")
        savers[format](self, path)

    def reset_parameters(self) -> None:
        if self.config.reordered_norm:
            self._normal_init()
        else:
            self._mitchell_init()

    def _mitchell_init(self) -> None:
        """OLMo v1's "mitchell" init: truncated normal at +-3 sigma, sigma = 1/sqrt(d_in);
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

    def _normal_init(self) -> None:
        """OLMo 2's "normal" init: every matrix N(0, 0.02) cut at +-3 sigma; norm weights 1."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                _trunc_normal(module.weight, OLMO2_INIT_STD)
            elif isinstance(module, RMSNorm):
                nn.init.ones_(module.weight)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        T = input_ids.shape[1]
        x = self.transformer.wte(input_ids)  # (B, T, C)
        cos, sin = self.rotary(T, input_ids.device)  # shared by all blocks
        masks = self._window_masks(T, input_ids.device)
        for block in self.transformer.blocks:
            if block.checkpoint_activations and torch.is_grad_enabled():
                # keep only the block's input; backward runs the block again for its activations
                x = checkpoint(block, x, cos, sin, masks.get(block.window), use_reentrant=False)
            else:
                x = block(x, cos, sin, masks.get(block.window))
        x = self.transformer.ln_f(x)
        if self.config.weight_tying:
            return F.linear(x, self.transformer.wte.weight)  # (B, T, V)
        return self.transformer.ff_out(x)  # (B, T, V)

    def _window_masks(self, seq_len: int, device: torch.device) -> dict:
        """One mask per window shorter than the sequence; a longer window is plain causal attention."""
        windows = {block.window for block in self.transformer.blocks if block.window is not None}
        return {w: window_mask(seq_len, w, device) for w in windows if w < seq_len}

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


@torch.no_grad()
def _trunc_normal(weight: torch.Tensor, std: float) -> None:
    nn.init.trunc_normal_(weight, mean=0.0, std=std, a=-3 * std, b=3 * std)
