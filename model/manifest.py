"""The manifest that ties a prepared data folder's files together: `manifest.json`.

`prepare-data` writes every output to a staging folder beside the target and moves them in
together, the manifest last (docs/design.md: a reader never trusts half a preparation):

    {"format": "olmo-green-memmap", "format_version": 1, "dtype": "uint16", "tokens": N,
     "files": {"input_ids.npy": {"bytes": B, "sha256": H},
               "label_mask.npy": {"bytes": N, "sha256": H} (only if the data has a mask)}}

The trainer reads it back (`check_prepared`): a file whose size no longer matches, or a
`label_mask.npy` the manifest does not list (left from an earlier preparation), is refused in
one line. A mask is tied to its tokens by the tokens' hash. Folders without a manifest (OLMo's
own data) are read as before; a mask there must still hold one byte per token and mask not all.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from olmo_green.errors import InputFileError

# The prepared data's file names (prepare-data writes them; model/data.py reads them).
INPUT_IDS = "input_ids.npy"
LABEL_MASK = "label_mask.npy"

MANIFEST = "manifest.json"
FORMAT = "olmo-green-memmap"
FORMAT_VERSION = 1
HASH_BLOCK = 1 << 24


def file_entry(path: Path) -> dict[str, Any]:
    """Size and SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(HASH_BLOCK):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def manifest_for(folder: Path, dtype: np.dtype) -> dict[str, Any]:
    """The manifest of the staged files in `folder` (input_ids.npy, and label_mask.npy if there)."""
    files = {name: file_entry(folder / name) for name in (INPUT_IDS, LABEL_MASK) if (folder / name).exists()}
    tokens = files[INPUT_IDS]["bytes"] // np.dtype(dtype).itemsize
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "dtype": np.dtype(dtype).name,
            "tokens": tokens, "files": files}


def commit(stage: Path, out_dir: Path) -> None:
    """Move the staged preparation into out_dir: a stale mask out, then the data, the manifest last.

    A kill part-way leaves either the old manifest (whose sizes and hashes then refuse the new
    tokens) or the new one: never a mask of one preparation trusted beside tokens of another."""
    if not (stage / LABEL_MASK).exists():
        (out_dir / LABEL_MASK).unlink(missing_ok=True)  # the old preparation's, not this one's
    for name in (LABEL_MASK, INPUT_IDS):
        if (stage / name).exists():
            os.replace(stage / name, out_dir / name)
    os.replace(stage / MANIFEST, out_dir / MANIFEST)


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, None if it has none; a broken one is one line."""
    path = folder / MANIFEST
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
        version = int(data["format_version"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputFileError(f"{path} is not a readable data manifest ({e}); rerun `olmo-green "
                             "prepare-data` for this folder") from e
    if data.get("format") != FORMAT or version > FORMAT_VERSION or not isinstance(files, dict):
        raise InputFileError(f"{path}: format {data.get('format')!r} version {version} is not one this "
                             f"olmo-green reads ({FORMAT} version {FORMAT_VERSION}); rerun prepare-data")
    return data


def check_prepared(tokens_path: Path) -> None:
    """Refuse token and mask files that do not belong together (see the module's docstring)."""
    folder, mask = tokens_path.parent, tokens_path.with_name(LABEL_MASK)
    manifest = read_manifest(folder) if tokens_path.name == INPUT_IDS else None
    if manifest is not None:
        _check_against(manifest, tokens_path, mask)
    if mask.exists():
        _refuse_empty_mask(mask)


def _check_against(manifest: dict[str, Any], tokens_path: Path, mask: Path) -> None:
    where = tokens_path.parent / MANIFEST
    files = manifest["files"]
    listed = files.get(INPUT_IDS, {}).get("bytes")
    if listed != tokens_path.stat().st_size:
        raise InputFileError(f"{tokens_path}: {tokens_path.stat().st_size} bytes, but {where} records "
                             f"{listed}: the tokens changed after prepare-data wrote them; "
                             "rerun prepare-data")
    if not mask.exists():
        return
    if LABEL_MASK not in files:
        raise InputFileError(f"{mask} is not part of this data ({where} lists no label mask): it is left "
                             "from an earlier preparation; remove it, or rerun prepare-data")
    for path, name in ((mask, LABEL_MASK), (tokens_path, INPUT_IDS)):  # the mask tied to these tokens
        if file_entry(path) != files[name]:
            raise InputFileError(f"{path} does not match {where} (size or SHA-256): the mask and "
                                 "tokens come from different preparations; rerun prepare-data")


def _refuse_empty_mask(mask: Path) -> None:
    """A mask with no token left to learn from trains at loss 0: refused."""
    values = np.memmap(mask, dtype=np.uint8, mode="r") if mask.stat().st_size else np.zeros(0, np.uint8)
    if not any(values[i:i + HASH_BLOCK].any() for i in range(0, len(values), HASH_BLOCK)):
        raise InputFileError(f"{mask} masks every token (all zero): training would learn nothing "
                             "(loss 0); remove it or write a mask with 1 for the tokens to train on")
