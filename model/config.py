"""The OLMo model configuration, its three families, and the presets.

One dataclass describes every family; `family` switches the block's layout
(model/olmo.py) and everything else is shapes:

- "olmo"  (v1): non-parametric LayerNorm before each sublayer, multi-head attention,
  mitchell init. allenai/OLMo configs/official/OLMo-1B.yaml and OLMo-7B.yaml (v0.2.5).
- "olmo2": RMSNorm with weights after each sublayer ("reordered norm"), RMSNorm over
  the full q and k projections (QK-norm), optional grouped-query attention, normal init
  (std 0.02, cut at 3 sigma). allenai/OLMo configs/official-1124/OLMo2-7B-stage1.yaml and
  OLMo-core TransformerConfig.olmo2_* (src/olmo_core/nn/transformer/config.py).
- "olmo3": OLMo 2 plus sliding-window attention on the layers `layer_types` marks
  "sliding_attention" (transformers' Olmo3Config names), of `sliding_window` tokens.
  OLMo-core TransformerConfig.olmo3_*.

`tiny`, `small`, `olmo2-tiny` and `olmo3-tiny` are CPU-sized for tests and demos.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

import yaml

from olmo_green.errors import ConfigError, InputFileError

GPT_NEOX_VOCAB = 50280  # OLMo v1's tokenizer (EleutherAI GPT-NeoX-20B based)
GPT_NEOX_EOS = 50279
BYTE_VOCAB = 257  # 256 byte values + EOS, for the built-in byte-level tokenizer
BYTE_EOS = 256
# OLMo 2 and 3's tokenizer, "dolma2" (OLMo-core TokenizerConfig.dolma2): cl100k-based.
DOLMA2_VOCAB = 100278
DOLMA2_EOS = 100257
DOLMA2_PAD = 100277

FAMILIES = ("olmo", "olmo2", "olmo3")
FULL, SLIDING = "full_attention", "sliding_attention"  # transformers' layer_types values


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
    family: str = "olmo"
    n_kv_heads: int | None = None  # grouped-query attention when fewer than n_heads; None: n_heads
    sliding_window: int | None = None  # tokens a "sliding_attention" layer sees (itself included)
    layer_types: list[str] | None = None  # one per layer, FULL or SLIDING (olmo3 only)

    def __post_init__(self) -> None:
        self._check_shapes()
        self._check_family()
        self._check_attention()

    def _check_shapes(self) -> None:
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
        if self.layer_norm_eps <= 0:
            raise ConfigError(f"model.layer_norm_eps must be positive, got {self.layer_norm_eps}")

    def _check_family(self) -> None:
        if self.family not in FAMILIES:
            raise ConfigError(f"model.family {self.family!r} is not one of {', '.join(FAMILIES)}")
        if self.clip_qkv is not None and self.clip_qkv <= 0:
            raise ConfigError("model.clip_qkv must be positive or null")
        if self.family != "olmo" and self.clip_qkv is not None:
            raise ConfigError(f"model.clip_qkv is an OLMo v1 option; {self.family} has QK-norm instead")
        if self.family == "olmo" and self.kv_heads != self.n_heads:
            raise ConfigError("model.n_kv_heads: OLMo v1 has multi-head attention only; "
                              "grouped-query attention needs family olmo2 or olmo3")
        if self.family != "olmo3" and (self.sliding_window is not None or self.layer_types is not None):
            raise ConfigError(f"model.sliding_window and layer_types are OLMo 3 options, not {self.family}")

    def _check_attention(self) -> None:
        if self.n_kv_heads is not None and (self.n_kv_heads <= 0 or self.n_heads % self.n_kv_heads):
            raise ConfigError(f"model.n_kv_heads ({self.n_kv_heads}) must divide n_heads ({self.n_heads})")
        if self.family != "olmo3":
            return
        if self.layer_types is None or len(self.layer_types) != self.n_layers:
            raise ConfigError(f"model.layer_types must name one attention type per layer ({self.n_layers})")
        unknown = sorted(set(self.layer_types) - {FULL, SLIDING})
        if unknown:
            raise ConfigError(f"model.layer_types: unknown type(s) {unknown}; use {FULL} or {SLIDING}")
        if SLIDING in self.layer_types and (self.sliding_window is None or self.sliding_window <= 0):
            raise ConfigError("model.sliding_window must be a positive number of tokens when "
                              "layer_types has sliding_attention layers")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @property
    def kv_heads(self) -> int:
        return self.n_kv_heads or self.n_heads

    @property
    def reordered_norm(self) -> bool:
        """OLMo 2's block: RMSNorm with weights after each sublayer, and QK-norm (olmo2, olmo3)."""
        return self.family != "olmo"

    def window(self, layer_id: int) -> int | None:
        """The sliding window of layer `layer_id` in tokens, or None for full causal attention."""
        if self.layer_types is None or self.layer_types[layer_id] != SLIDING:
            return None
        return self.sliding_window

    def block_matmul_params(self) -> int:
        """Weights of one block's four linear layers (the matmuls of 6N)."""
        d, ff, kv = self.d_model, self.mlp_hidden_size, self.kv_heads * self.head_dim
        return d * (d + 2 * kv) + d * d + d * ff + (ff // 2) * d

    def num_params(self, include_embeddings: bool = True) -> int:
        """Parameter count, computed from the shapes (no model is built)."""
        d, kv = self.d_model, self.kv_heads * self.head_dim
        norms = (3 * d + kv) if self.reordered_norm else 0  # attn, ff, q norms (d) and k norm (kv)
        final_norm = d if self.reordered_norm else 0
        embeddings = self.embedding_size * d * (1 if self.weight_tying else 2)
        blocks = self.n_layers * (self.block_matmul_params() + norms) + final_norm
        return blocks + (embeddings if include_embeddings else 0)

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


# A bound far above the largest published models (~2e12 parameters), below any typo's size.
MAX_PARAMS = 1e15


def load_model_config(name_or_path: str) -> OLMoConfig:
    """A preset by name, or an OLMoConfig from a model YAML file: the one loader (train and
    estimate). The file holds OLMoConfig fields, at the top or under `model:` (a training
    config). A file that is missing, a directory, not YAML (a syntax error, or a tag such as
    !!python/object, which safe_load refuses), or not a mapping is one GreenError naming it."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        return OLMoConfig.from_preset(name_or_path)
    if path.is_dir():
        raise InputFileError(f"model file {path} is a directory; pass the YAML file")
    if not path.is_file():
        raise InputFileError(f"model file {path} does not exist; pass a preset (olmo-7b) or an existing YAML")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as e:  # its message spans lines; the CLI prints one
        raise ConfigError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from e
    data = data.get("model", data) if isinstance(data, dict) else data
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a model file is a mapping of OLMoConfig fields")
    try:
        config = OLMoConfig.from_dict(data)
    except ConfigError as e:  # name the file: the message alone says which keys, not where
        raise ConfigError(f"{path}: {e}") from e
    from olmo_green import checks  # the one rule for numbers

    checks.check_model_numbers(config, origin=str(path))
    params = config.num_params()
    if params > MAX_PARAMS:  # a typo (d_model: 1e30) would otherwise estimate 1e70 FLOPs at exit 0
        raise ConfigError(f"{path}: {params:.3g} parameters is beyond any model ({MAX_PARAMS:.0e} at most); "
                          "check d_model, n_layers, mlp_hidden_size and vocab_size")
    return config


def repeat_pattern(pattern: list[str], n_layers: int) -> list[str]:
    """`pattern` repeated over n_layers, the last layer always full (OLMo-core's
    SlidingWindowAttentionConfig with force_full_attention_on_last_layer=True)."""
    types = [pattern[i % len(pattern)] for i in range(n_layers)]
    return types[:-1] + [FULL]


def _byte_level(**shape) -> dict:
    return dict(vocab_size=BYTE_VOCAB, embedding_size=384, eos_token_id=BYTE_EOS,
                pad_token_id=BYTE_EOS, **{"weight_tying": True, **shape})


def _neox(**shape) -> dict:
    return dict(vocab_size=GPT_NEOX_VOCAB, embedding_size=50304, eos_token_id=GPT_NEOX_EOS,
                pad_token_id=1, **shape)


def _dolma2(**shape) -> dict:
    """OLMo 2 and 3 share these: dolma2 tokenizer, untied head, RoPE theta 500,000, eps 1e-6."""
    return dict(vocab_size=DOLMA2_VOCAB, eos_token_id=DOLMA2_EOS, pad_token_id=DOLMA2_PAD,
                weight_tying=False, rope_theta=500_000.0, layer_norm_eps=1e-6,
                **{"embedding_size": 100352, **shape})


def _olmo3(n_layers: int, window: int = 4096, **shape) -> dict:
    # OLMo-core olmo3_*: SlidingWindowAttentionConfig(pattern=[4096, 4096, 4096, -1]):
    # three sliding layers, then a full one; the last layer always full.
    pattern = [SLIDING, SLIDING, SLIDING, FULL]
    return dict(family="olmo3", n_layers=n_layers, sliding_window=window,
                layer_types=repeat_pattern(pattern, n_layers), **shape)


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
    # OLMo 2 and 3 shapes on the byte-level vocabulary, CPU-trainable on the built-in corpus.
    "olmo2-tiny": _byte_level(family="olmo2", d_model=128, n_heads=4, n_layers=4, mlp_hidden_size=1024,
                              max_sequence_length=256, weight_tying=False, rope_theta=500_000.0,
                              layer_norm_eps=1e-6),
    # Grouped-query attention (as olmo3-32b) and a window shorter than the sequence.
    "olmo3-tiny": _byte_level(**_olmo3(4, window=64, d_model=128, n_heads=4, n_kv_heads=2,
                                       mlp_hidden_size=1024, max_sequence_length=256,
                                       weight_tying=False, rope_theta=500_000.0, layer_norm_eps=1e-6)),
    # allenai/OLMo-2-0425-1B (config.json; OLMo-core olmo2_1B_v2): 1,484,916,736 parameters.
    "olmo2-1b": _dolma2(family="olmo2", d_model=2048, n_heads=16, n_layers=16, mlp_hidden_size=16384,
                        max_sequence_length=4096),
    # configs/official-1124/OLMo2-7B-stage1.yaml, allenai/OLMo-2-1124-7B: 7,298,617,344 parameters.
    "olmo2-7b": _dolma2(family="olmo2", d_model=4096, n_heads=32, n_layers=32, mlp_hidden_size=22016,
                        max_sequence_length=4096),
    # configs/official-1124/OLMo2-13B-stage1.yaml, allenai/OLMo-2-1124-13B: 13,716,198,400 parameters.
    "olmo2-13b": _dolma2(family="olmo2", d_model=5120, n_heads=40, n_layers=40, mlp_hidden_size=27648,
                         max_sequence_length=4096),
    # OLMo-core olmo2_32B (8 kv heads, FFN 27648), allenai/OLMo-2-0325-32B: 32,234,279,936 parameters.
    "olmo2-32b": _dolma2(family="olmo2", d_model=5120, n_heads=40, n_kv_heads=8, n_layers=64,
                         mlp_hidden_size=55296, max_sequence_length=4096),
    # OLMo-core olmo3_7B; 8192-token pretraining context (OLMo-3-1025-7B-pretrain-1.py). The released
    # allenai/Olmo-3-1025-7B drops the 74 padding rows of the 100,352 trained: 7,298,011,136 parameters.
    "olmo3-7b": _dolma2(**_olmo3(32, d_model=4096, n_heads=32, mlp_hidden_size=22016,
                                 max_sequence_length=8192, embedding_size=DOLMA2_VOCAB)),
    # OLMo-core olmo3_32B (= olmo2_32B + windows), allenai/Olmo-3-1125-32B: 32,233,522,176 parameters.
    "olmo3-32b": _dolma2(**_olmo3(64, d_model=5120, n_heads=40, n_kv_heads=8, mlp_hidden_size=55296,
                                  max_sequence_length=8192, embedding_size=DOLMA2_VOCAB)),
}
