"""The OLMo v1 model configuration and its presets.

Values of `olmo-1b` and `olmo-7b` follow allenai/OLMo configs/official/OLMo-1B.yaml
and OLMo-7B.yaml (v0.2.5). `tiny` and `small` are CPU-sized for tests and demos.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from olmo_green.errors import ConfigError

GPT_NEOX_VOCAB = 50280  # OLMo v1's tokenizer (EleutherAI GPT-NeoX-20B based)
GPT_NEOX_EOS = 50279
BYTE_VOCAB = 257  # 256 byte values + EOS, for the built-in byte-level tokenizer
BYTE_EOS = 256


@dataclass
class OLMoConfig:
    d_model: int
    n_heads: int
    n_layers: int
    mlp_hidden_size: int  # width of the fused ff_proj: SwiGLU halves it
    vocab_size: int
    embedding_size: int  # vocab padded up (to a multiple of 128) for fast matmuls
    max_sequence_length: int
    weight_tying: bool
    eos_token_id: int
    pad_token_id: int
    rope_theta: float = 10_000.0
    clip_qkv: float | None = None
    layer_norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        for name in ("d_model", "n_heads", "n_layers", "mlp_hidden_size", "vocab_size",
                     "embedding_size", "max_sequence_length"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"model.{name} must be positive, got {getattr(self, name)}")
        if self.d_model % self.n_heads:
            raise ConfigError(f"model.d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")
        if (self.d_model // self.n_heads) % 2:
            raise ConfigError("model.d_model / n_heads must be even for rotary embeddings")
        if self.mlp_hidden_size % 2:
            raise ConfigError(f"model.mlp_hidden_size ({self.mlp_hidden_size}) must be even (SwiGLU)")
        if self.embedding_size < self.vocab_size:
            raise ConfigError("model.embedding_size must be at least vocab_size")
        if self.clip_qkv is not None and self.clip_qkv <= 0:
            raise ConfigError("model.clip_qkv must be positive or null")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def num_params(self, include_embeddings: bool = True) -> int:
        """Parameter count, computed from the shapes (no model is built)."""
        d, ff = self.d_model, self.mlp_hidden_size
        per_block = d * 3 * d + d * d + d * ff + (ff // 2) * d
        embeddings = self.embedding_size * d * (1 if self.weight_tying else 2)
        return self.n_layers * per_block + (embeddings if include_embeddings else 0)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> OLMoConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown model option(s) {sorted(unknown)}; known: {sorted(known)}")
        try:
            return cls(**data)
        except TypeError as e:
            raise ConfigError(f"incomplete model configuration: {e}") from e

    @classmethod
    def from_preset(cls, name: str) -> OLMoConfig:
        if name not in PRESETS:
            raise ConfigError(f"unknown model preset {name!r}; use one of {', '.join(PRESETS)}")
        return cls(**PRESETS[name])


def _byte_level(**shape) -> dict:
    return dict(vocab_size=BYTE_VOCAB, embedding_size=384, eos_token_id=BYTE_EOS,
                pad_token_id=BYTE_EOS, weight_tying=True, **shape)


def _neox(**shape) -> dict:
    return dict(vocab_size=GPT_NEOX_VOCAB, embedding_size=50304, eos_token_id=GPT_NEOX_EOS,
                pad_token_id=1, **shape)


PRESETS: dict[str, dict] = {
    # ~1.1M parameters, byte-level vocabulary: the built-in demo and most tests.
    "tiny": _byte_level(d_model=128, n_heads=4, n_layers=4, mlp_hidden_size=1024,
                        max_sequence_length=256),
    # ~59M parameters with OLMo's real vocabulary: CPU benchmarks.
    "small": _neox(d_model=512, n_heads=8, n_layers=8, mlp_hidden_size=4096,
                   max_sequence_length=1024, weight_tying=True),
    # configs/official/OLMo-1B.yaml: 1,176,764,416 parameters.
    "olmo-1b": _neox(d_model=2048, n_heads=16, n_layers=16, mlp_hidden_size=16384,
                     max_sequence_length=2048, weight_tying=True),
    # configs/official/OLMo-7B.yaml: 6,888,095,744 parameters.
    "olmo-7b": _neox(d_model=4096, n_heads=32, n_layers=32, mlp_hidden_size=22016,
                     max_sequence_length=2048, weight_tying=False),
}
