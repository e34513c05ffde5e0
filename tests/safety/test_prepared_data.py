"""Finding 7: prepare-data is all or nothing, with a manifest that ties tokens and mask; a stale
all-zero label_mask.npy beside new tokens never trains at loss 0."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.model import corpus
from olmo_green.record import read_steps
from tests.cli_checks import one_line

pytestmark = pytest.mark.usefixtures("one_thread")
SMALL = ["--set", "model.sequence_length=32", "--set", "batch.global_batch_size=8", "--set", "progress=false",
         "--max-steps", "2", "--save-interval", "2"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _prepare(tmp_path, out):
    text = tmp_path / "a.txt"
    text.write_text("the quick brown fox jumps over a lazy dog. " * 200)
    result = invoke("prepare-data", text, "--out", out)
    assert result.exit_code == 0, result.output
    return out


def _zero_mask_beside(out):
    tokens = (out / "input_ids.npy").stat().st_size // 2
    np.zeros(tokens, dtype=np.bool_).tofile(out / "label_mask.npy")


def test_prepare_data_over_a_stale_all_zero_mask_trains_at_a_real_loss(tmp_path):
    out = _prepare(tmp_path, tmp_path / "data")
    _zero_mask_beside(out)  # an earlier preparation's mask, same token count
    _prepare(tmp_path, out)  # prepared again: the mask is not this preparation's
    result = invoke("train", "--data", out, "--run-dir", tmp_path / "run", *SMALL)
    assert result.exit_code == 0, result.output
    losses = read_steps(tmp_path / "run").query("phase == 'train'")["loss"]
    assert len(losses) == 2 and (losses > 1.0).all()  # byte-level text starts near ln(257) = 5.5


def test_a_mask_the_manifest_does_not_list_is_refused_in_one_line(tmp_path):
    out = _prepare(tmp_path, tmp_path / "data")
    _zero_mask_beside(out)  # planted after the preparation
    one_line(invoke("train", "--data", out, "--run-dir", tmp_path / "run", *SMALL),
             "label_mask.npy", "manifest.json lists no label mask")
    assert not (tmp_path / "run").exists()


def test_an_all_zero_mask_without_a_manifest_is_refused(tmp_path):
    out = _prepare(tmp_path, tmp_path / "data")
    (out / "manifest.json").unlink()  # data from elsewhere: no manifest
    _zero_mask_beside(out)
    one_line(invoke("train", "--data", out, "--run-dir", tmp_path / "run", *SMALL), "masks every token")


def test_tokens_changed_after_the_manifest_are_refused(tmp_path):
    out = _prepare(tmp_path, tmp_path / "data")
    with (out / "input_ids.npy").open("ab") as f:
        f.write(b"\x01\x00" * 64)
    one_line(invoke("train", "--data", out, "--run-dir", tmp_path / "run", *SMALL),
             "input_ids.npy", "manifest.json records")


def test_a_listed_mask_must_belong_to_these_tokens(tmp_path):
    out = _prepare(tmp_path, tmp_path / "data")
    tokens = (out / "input_ids.npy").stat().st_size // 2
    np.ones(tokens, dtype=np.bool_).tofile(out / "label_mask.npy")
    manifest = json.loads((out / "manifest.json").read_text())
    from olmo_green.model.manifest import file_entry

    manifest["files"]["label_mask.npy"] = file_entry(out / "label_mask.npy")
    (out / "manifest.json").write_text(json.dumps(manifest))
    result = invoke("train", "--data", out, "--run-dir", tmp_path / "run", *SMALL)
    assert result.exit_code == 0, result.output  # listed and matching: used
    ids = np.fromfile(out / "input_ids.npy", dtype=np.uint16)
    ids[:2] = ids[1::-1]  # same size, other tokens
    ids.tofile(out / "input_ids.npy")
    one_line(invoke("train", "--data", out, "--run-dir", tmp_path / "run2", *SMALL),
             "different preparations")


def test_the_manifest_records_format_tokens_sizes_and_hashes(tmp_path):
    out = _prepare(tmp_path, tmp_path / "data")
    manifest = json.loads((out / "manifest.json").read_text())
    size = (out / "input_ids.npy").stat().st_size
    assert manifest["format_version"] == 1 and manifest["dtype"] == "uint16"
    assert manifest["tokens"] == size // 2 and manifest["files"]["input_ids.npy"]["bytes"] == size
    assert len(manifest["files"]["input_ids.npy"]["sha256"]) == 64


def test_a_failure_midway_leaves_the_old_preparation_whole(tmp_path, monkeypatch):
    out = _prepare(tmp_path, tmp_path / "data")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(corpus, "_write_tokens", disk_full)
    one_line(invoke("prepare-data", tmp_path / "a.txt", "--out", out), "cannot write")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no staging folder left
