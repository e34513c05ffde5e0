"""Speed options applied to a built model: per-block torch.compile and activation checkpointing.

Both work block by block, as OLMo-core and torchtitan apply them, so they compose
with FSDP2 (each block is also its own FSDP unit, model/distributed.py):

- compile: `block.compile()` compiles the block's call in place. The parameters keep
  their names (no `_orig_mod.` prefix), so checkpoints, HF export and resumes see the
  same state dict with compile on or off. Every block has the same shapes, so Dynamo
  reuses one graph for all of them.
- activation checkpointing: a marked block is run under torch.utils.checkpoint
  (non-reentrant) by OLMo.forward; backward recomputes its activations instead of
  keeping them. "full" marks every block, "selective" every Nth (blocks 0, N, 2N, ...).
  The recomputation repeats the same kernels on the same inputs, so losses are
  unchanged bit for bit (tests/model/test_efficiency.py).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from olmo_green.config import ModelSection


def compile_wanted(setting: bool | None, device: torch.device) -> bool:
    """model.compile as set, or by default on CUDA and ROCm (torch.cuda) and off on CPU,
    where compiling costs more time than a short run saves."""
    if setting is not None:
        return setting
    return device.type == "cuda"


def checkpointed_blocks(mode: str, every: int, n_layers: int) -> list[int]:
    """The block indices whose activations are recomputed in backward."""
    if mode == "full":
        return list(range(n_layers))
    if mode == "selective":
        return list(range(0, n_layers, every))
    return []


def apply_activation_checkpointing(model: nn.Module, mode: str, every: int) -> list[int]:
    """Mark the blocks OLMo.forward runs under activation checkpointing; returns their indices."""
    blocks = model.transformer.blocks
    marked = set(checkpointed_blocks(mode, every, len(blocks)))
    for index, block in enumerate(blocks):
        block.checkpoint_activations = index in marked
    return sorted(marked)


def compile_blocks(model: nn.Module) -> None:
    """torch.compile each block in place (before FSDP2 wraps it, as OLMo-core does)."""
    for block in model.transformer.blocks:
        # dynamic=False: one static graph per input shape (train and eval batches differ);
        # fullgraph=False: FSDP2's hooks and FlexAttention's mask may break the graph.
        block.compile(dynamic=False, fullgraph=False)


def apply(model: nn.Module, section: ModelSection, device: torch.device) -> nn.Module:
    """Activation checkpointing, then compile, as model.* asks; in place."""
    apply_activation_checkpointing(model, section.activation_checkpointing,
                                   section.activation_checkpointing_every)
    if compile_wanted(section.compile, device):
        compile_blocks(model)
    return model
