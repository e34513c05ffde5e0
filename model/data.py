"""Token data in OLMo's memmap format, and the global order of its instances.

Format (allenai/OLMo v0.2.5, olmo/data/memmap_dataset.py): `input_ids.npy` is a
headerless array of token ids (uint16, or uint32 for vocabularies over 65,535),
documents joined by EOS; an optional `label_mask.npy` beside it holds one bool
byte per token. Each file is cut into fixed-length instances of
`sequence_length` tokens; a file's tail shorter than that is dropped.

The order of instances is one permutation per epoch drawn from the seed, so it
is a pure function of (seed, epoch): a resume that knows the step knows the
data position. Rank r takes its slice of each global batch, so a run's data is
the same for any world size with the same global batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from olmo_green.errors import ConfigError, InputFileError
from olmo_green.fileio import replacing
from olmo_green.model.manifest import INPUT_IDS, LABEL_MASK, check_prepared


def token_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned dtype OLMo uses for this vocabulary."""
    return np.dtype(np.uint16 if vocab_size <= np.iinfo(np.uint16).max + 1 else np.uint32)


def resolve_paths(paths: list[str] | tuple[str, ...]) -> list[Path]:
    """Each path is an input_ids file or a folder that holds one."""
    files = []
    for p in map(Path, paths):
        candidate = p / INPUT_IDS if p.is_dir() else p
        if not candidate.is_file():
            raise InputFileError(f"data file {candidate} does not exist; run `olmo-green prepare-data` first")
        files.append(candidate)
    return files


SCAN_TOKENS = 1 << 26  # token ids checked per read: 128 MiB of uint16 at a time


def check_token_ids(paths: list[Path], dtype: np.dtype, vocab_size: int) -> None:
    """Refuse a file holding a token id the model has no embedding for, naming the file and its
    largest id: the data was tokenized for another vocabulary (or read with the wrong dtype).

    Reads each file once, in blocks, before training; a few seconds per 10 GB from the page cache.
    """
    dtype = np.dtype(dtype)
    for path in paths:
        _refuse_npy_header(path)
        check_prepared(path)  # a stale or foreign label_mask.npy beside these tokens
        size = path.stat().st_size
        if size % dtype.itemsize or size == 0:
            continue  # MemmapDataset names these problems
        tokens = np.memmap(path, dtype=dtype, mode="r")
        largest = max(int(tokens[i:i + SCAN_TOKENS].max()) for i in range(0, len(tokens), SCAN_TOKENS))
        del tokens
        if largest >= vocab_size:
            hint = "" if path.suffix == ".npy" else f" (if {path.name} is text, tokenize it: prepare-data)"
            raise InputFileError(
                f"{path}: token id {largest:,} is outside the model's vocabulary of {vocab_size:,} ids; "
                "tokenize the data for this model (prepare-data --tokenizer), or pick the model it was "
                f"made for{hint}"
            )


NPY_MAGIC = b"\x93NUMPY"


def _refuse_npy_header(path: Path) -> None:
    """OLMo's input_ids.npy is headerless; a file from np.save starts with a header whose bytes
    would be read as token ids."""
    with path.open("rb") as f:
        if f.read(len(NPY_MAGIC)) == NPY_MAGIC:
            raise InputFileError(f"{path}: a NumPy file with a header (np.save); OLMo's format is the raw "
                                 "ids (ndarray.tofile), or run `olmo-green prepare-data`")


@dataclass
class _Source:
    tokens: np.memmap
    mask: np.memmap | None
    num_instances: int


def _open_source(path: Path, dtype: np.dtype, seq_len: int) -> _Source:
    _refuse_npy_header(path)
    size = path.stat().st_size
    if size % dtype.itemsize:
        raise InputFileError(
            f"{path}: {size} bytes is not a multiple of the token size ({dtype.itemsize}, {dtype.name}); "
            "set data.dtype to the dtype it was written with"
        )
    n_tokens = size // dtype.itemsize
    tokens = np.memmap(path, dtype=dtype, mode="r", shape=(n_tokens,)) if n_tokens else np.zeros(0, dtype)
    mask_path = path.with_name(LABEL_MASK)
    mask = None
    if mask_path.exists():
        if mask_path.stat().st_size != n_tokens:
            raise InputFileError(
                f"{mask_path}: {mask_path.stat().st_size} mask bytes for {n_tokens} tokens in {path.name}; "
                "the label mask needs one byte per token"
            )
        mask = np.memmap(mask_path, dtype=np.bool_, mode="r", shape=(n_tokens,)) if n_tokens else None
    return _Source(tokens, mask, n_tokens // seq_len)


class MemmapDataset:
    """Fixed-length instances over one or more token memmaps."""

    def __init__(self, paths: list[Path], sequence_length: int, dtype: np.dtype):
        self.sequence_length = sequence_length
        self.sources = [_open_source(p, np.dtype(dtype), sequence_length) for p in paths]
        self.offsets = np.cumsum([0] + [s.num_instances for s in self.sources])
        if len(self) == 0:
            sizes = ", ".join(f"{p.name}: {len(s.tokens):,} tokens" for p, s in zip(paths, self.sources,
                                                                                 strict=True))
            longest = max(len(s.tokens) for s in self.sources)
            raise InputFileError(
                f"the data ({sizes}) holds no instance of {sequence_length} tokens (model.sequence_length); "
                f"give more --data, or --set model.sequence_length=N with N at most {longest:,}"
            )

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray | None]:
        which = int(np.searchsorted(self.offsets, index, side="right")) - 1
        source = self.sources[which]
        start = (index - int(self.offsets[which])) * self.sequence_length
        window = slice(start, start + self.sequence_length)
        mask = None if source.mask is None else np.asarray(source.mask[window])
        return np.asarray(source.tokens[window]), mask


def epoch_order(num_instances: int, seed: int, epoch: int) -> np.ndarray:
    """The shuffled order of one epoch: a pure function of (seed, epoch).

    uint32 where it fits (as OLMo's global_indices.npy): 1.5e9 instances of a
    3T-token run take 6 GB, not 12."""
    rng = np.random.Generator(np.random.PCG64([seed, epoch]))
    dtype = np.uint32 if num_instances <= np.iinfo(np.uint32).max else np.int64
    return rng.permutation(num_instances).astype(dtype)


class GlobalOrder:
    """Instance indices of every global batch, sliced for one rank.

    With a `folder` (the run directory), rank 0 writes each epoch's order there
    once (data_order.seed<S>.epoch<E>.npy) and every rank memory-maps it, so a large run
    holds one copy per node's page cache instead of one array per rank.
    """

    def __init__(self, num_instances: int, seed: int, global_batch_size: int, rank: int, world_size: int,
                 folder: Path | None = None):
        if global_batch_size > num_instances:
            raise ConfigError(
                f"batch.global_batch_size ({global_batch_size}) exceeds the "
                f"{num_instances} instances in the data; --set batch.global_batch_size={num_instances} "
                "or less, or give more --data"
            )
        self.num_instances, self.seed, self.folder = num_instances, seed, folder
        self.global_batch_size, self.rank, self.world_size = global_batch_size, rank, world_size
        self.batches_per_epoch = num_instances // global_batch_size  # the epoch's tail is dropped
        self._epoch, self._order = -1, np.empty(0, np.int64)

    def order(self, epoch: int) -> np.ndarray:
        if epoch != self._epoch:
            self._epoch = epoch
            stored = self.folder is not None
            self._order = self._stored(epoch) if stored else epoch_order(self.num_instances, self.seed, epoch)
        return self._order

    def _stored(self, epoch: int) -> np.ndarray:
        from olmo_green.model.distributed import barrier

        path = self.folder / f"data_order.seed{self.seed}.epoch{epoch}.npy"
        if self.rank == 0 and not _holds_order(path, self.num_instances):
            with replacing(path) as tmp, open(tmp, "wb") as f:  # atomic: never half an order
                np.save(f, epoch_order(self.num_instances, self.seed, epoch))
        barrier()  # every rank reaches the same epoch at the same batch
        return np.load(path, mmap_mode="r")

    def rank_indices(self, batch_index: int) -> np.ndarray:
        """Indices of global batch `batch_index` (0-based) that this rank reads."""
        epoch, within = divmod(batch_index, self.batches_per_epoch)
        start = within * self.global_batch_size
        batch = self.order(epoch)[start:start + self.global_batch_size]
        per_rank = self.global_batch_size // self.world_size
        return np.asarray(batch[self.rank * per_rank:(self.rank + 1) * per_rank], dtype=np.int64)


def _holds_order(path: Path, num_instances: int) -> bool:
    """An order file written for this data (same length); else it is rewritten."""
    return path.exists() and np.load(path, mmap_mode="r").shape == (num_instances,)


class BatchLoader:
    """Rank-local batches by global batch index: the data position is just the step."""

    def __init__(self, dataset: MemmapDataset, order: GlobalOrder):
        self.dataset, self.order = dataset, order

    def batch(self, batch_index: int) -> dict[str, torch.Tensor]:
        rows = [self.dataset[int(i)] for i in self.order.rank_indices(batch_index)]
        input_ids = torch.from_numpy(np.stack([r[0] for r in rows]).astype(np.int64))  # (B, T)
        out = {"input_ids": input_ids}
        if any(r[1] is not None for r in rows):
            # a file without a mask counts all its tokens
            masks = [r[1] if r[1] is not None else np.ones(len(r[0]), np.bool_) for r in rows]
            out["label_mask"] = torch.from_numpy(np.stack(masks))  # (B, T) bool
        return out
