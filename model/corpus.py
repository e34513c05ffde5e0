"""Tokenizers and writers for OLMo's memmap format, and the built-in corpus.

The built-in corpus needs no download: it is the Python standard library's own
top-level `.py` modules (every Python installation ships them), read in sorted
name order up to a byte budget, so the selection is the same on every run of
one Python version. Text is tokenized byte-level: one token per UTF-8 byte,
EOS (256) after each document, matching the `tiny` preset's vocabulary.
"""

from __future__ import annotations

import json
import shutil
import sysconfig
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from olmo_green.errors import InputFileError
from olmo_green.model.config import BYTE_EOS, BYTE_VOCAB
from olmo_green.model.data import INPUT_IDS, token_dtype

EVAL_BUDGET_BYTES = 200_000  # the held-out part, for eval windows
BUILTIN_BUDGET_BYTES = 4_000_000  # ~4M tokens: thousands of tiny-preset steps before an epoch ends


class ByteTokenizer:
    """One token per UTF-8 byte; EOS is 256. Needs no file."""

    vocab_size = BYTE_VOCAB
    eos_token_id = BYTE_EOS

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))


class FileTokenizer:
    """A `tokenizers`-library JSON file; EOS is its <|endoftext|> or </s> token."""

    def __init__(self, path: str | Path):
        from tokenizers import Tokenizer  # imported only when a file is given

        if not Path(path).is_file():
            raise InputFileError(f"--tokenizer {path} does not exist; pass a tokenizers-library JSON file "
                                 "(e.g. a Hugging Face model's tokenizer.json), or none for byte-level")
        try:
            self._tok = Tokenizer.from_file(str(path))
        except Exception as e:  # the library raises a bare Exception on a bad file
            raise InputFileError(f"--tokenizer {path} is not a tokenizers JSON file ({e}); pass a "
                                 "tokenizer.json as the tokenizers library saves it") from e
        self.vocab_size = self._tok.get_vocab_size(with_added_tokens=True)
        eos = next((self._tok.token_to_id(t) for t in ("<|endoftext|>", "</s>", "<eos>")
                    if self._tok.token_to_id(t) is not None), None)
        if eos is None:
            raise InputFileError(f"{path}: no end-of-text token (<|endoftext|>, </s> or <eos>) "
                                 "in its vocabulary")
        self.eos_token_id = eos

    def encode(self, text: str) -> list[int]:
        return self._tok.encode(text, add_special_tokens=False).ids


def read_documents(path: Path) -> Iterator[str]:
    """Plain text is one document per file; JSONL is one per line, from its "text" field."""
    if not path.is_file():
        raise InputFileError(f"input file {path} does not exist")
    if path.suffix not in (".jsonl", ".json"):
        yield path.read_text(encoding="utf-8", errors="replace")
        return
    with path.open(encoding="utf-8", errors="replace") as f:  # a bad byte is U+FFFD, as for plain text
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                text = json.loads(line)["text"]
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise InputFileError(f"{path}:{number}: expected a JSON object with a \"text\" field") from e
            if not isinstance(text, str):
                raise InputFileError(f"{path}:{number}: \"text\" is {type(text).__name__}, not a string")
            yield text


def write_memmap(documents: Iterable[str], tokenizer, out_dir: Path,
                 on_document: Callable[[], None] | None = None) -> int:
    """Tokenize `documents` into out_dir/input_ids.npy (headerless, EOS after each) with its
    manifest.json; return the tokens.

    All or nothing: everything is written in a staging folder inside out_dir and moved in together
    at the end (model/manifest.py); a bad input line, a full disk or Ctrl-C leaves out_dir as it was.
    The staging folder is unique, since ranks may race to write the built-in corpus."""
    from olmo_green.model.manifest import MANIFEST, commit, manifest_for

    out_dir.mkdir(parents=True, exist_ok=True)
    dtype = token_dtype(tokenizer.vocab_size)
    stage = Path(tempfile.mkdtemp(prefix=".prepare-data.", suffix=".tmp", dir=out_dir))
    try:
        total = _write_tokens(documents, tokenizer, stage / INPUT_IDS, dtype, on_document)
        manifest = json.dumps(manifest_for(stage, dtype), indent=1) + "\n"
        (stage / MANIFEST).write_text(manifest, encoding="utf-8")
        commit(stage, out_dir)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return total


def _write_tokens(documents: Iterable[str], tokenizer, target: Path, dtype: np.dtype,
                  on_document: Callable[[], None] | None) -> int:
    total = 0
    with target.open("wb") as f:
        for text in documents:
            ids = np.asarray(tokenizer.encode(text) + [tokenizer.eos_token_id], dtype=dtype)
            f.write(ids.tobytes())
            total += len(ids)
            if on_document:
                on_document()
    return total


def builtin_files(budget_bytes: int = BUILTIN_BUDGET_BYTES, skip_bytes: int = 0) -> list[Path]:
    """The standard library's top-level modules, sorted by name, up to the budget.

    `skip_bytes` passes over the first modules (those the training part took),
    so the held-out eval part shares no file with it.
    """
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    chosen, size, skipped = [], 0, 0
    for path in sorted(stdlib.glob("*.py")):
        if skipped < skip_bytes:
            skipped += path.stat().st_size
            continue
        if size >= budget_bytes:
            break
        chosen.append(path)
        size += path.stat().st_size
    if not chosen:
        raise InputFileError(f"no Python modules found in {stdlib} for the built-in corpus; pass --data")
    return chosen


def builtin_corpus(out_dir: Path, held_out: bool = False) -> Path:
    """Write the built-in byte-level corpus to out_dir once; return its input_ids path.

    held_out=True writes the eval part instead: the modules that follow the training part."""
    target = out_dir / INPUT_IDS
    if not target.exists():
        files = builtin_files(EVAL_BUDGET_BYTES, BUILTIN_BUDGET_BYTES) if held_out else builtin_files()
        docs = (p.read_text(encoding="utf-8", errors="replace") for p in files)
        write_memmap(docs, ByteTokenizer(), out_dir)
    return target
