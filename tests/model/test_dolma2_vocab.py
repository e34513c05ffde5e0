"""A dolma2-sized vocabulary (about 100k, as OLMo 2 and 3 use) end to end: prepare-data writes
uint32 tokens, the loader reads them back, and an OLMo 2 model with that vocabulary trains.

The tokenizer is made here (a word-level `tokenizers` JSON with dolma2's size and special ids);
nothing is downloaded.
"""

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.model.config import DOLMA2_EOS, DOLMA2_PAD, DOLMA2_VOCAB
from olmo_green.model.data import MemmapDataset, token_dtype
from olmo_green.record import read_steps

pytestmark = pytest.mark.usefixtures("one_thread")


def dolma2_sized_tokenizer(path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {f"w{i}": i for i in range(DOLMA2_VOCAB)}
    vocab["<|endoftext|>"] = vocab.pop(f"w{DOLMA2_EOS}")  # dolma2's EOS id
    vocab["<|pad|>"] = vocab.pop(f"w{DOLMA2_PAD}")
    tok = Tokenizer(models.WordLevel(vocab, unk_token="w0"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(path))


def test_prepare_data_writes_uint32_for_a_100k_vocabulary_and_it_trains(tmp_path):
    dolma2_sized_tokenizer(tmp_path / "tok.json")
    rng = np.random.default_rng(0)
    ids = rng.integers(70_000, 100_000, size=3000)  # all above uint16's 65,535
    text = " ".join(f"w{i}" for i in ids)
    (tmp_path / "doc.txt").write_text(text)
    runner = CliRunner()
    result = runner.invoke(cli, ["prepare-data", str(tmp_path / "doc.txt"), "--out", str(tmp_path / "data"),
                                 "--tokenizer", str(tmp_path / "tok.json")])
    assert result.exit_code == 0, result.output
    assert token_dtype(DOLMA2_VOCAB) == np.uint32
    written = np.fromfile(tmp_path / "data" / "input_ids.npy", dtype=np.uint32)
    assert written.tolist() == ids.tolist() + [DOLMA2_EOS]

    dataset = MemmapDataset([tmp_path / "data" / "input_ids.npy"], 64, token_dtype(DOLMA2_VOCAB))
    first, _ = dataset[0]
    assert first.tolist() == ids[:64].tolist()

    model = dict(family="olmo2", d_model=32, n_heads=2, n_layers=2, mlp_hidden_size=64,
                 vocab_size=DOLMA2_VOCAB, embedding_size=100352, max_sequence_length=64,
                 weight_tying=False, eos_token_id=DOLMA2_EOS, pad_token_id=DOLMA2_PAD,
                 rope_theta=500_000.0, layer_norm_eps=1e-6)
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(model))
    args = ["--model", tmp_path / "model.yaml", "--data", tmp_path / "data", "--run-dir", tmp_path / "run",
            "--max-steps", 2, "--set", "batch.global_batch_size=4", "--set", "batch.micro_batch_size=4",
            "--set", "progress=false", "--set", "eval_interval=0"]
    result = runner.invoke(cli, ["train", *map(str, args)])
    assert result.exit_code == 0, result.output
    losses = read_steps(tmp_path / "run").query("phase == 'train'")["loss"].tolist()
    # a fresh model guesses near-uniformly over its 100,352 rows: ln(100352) = 11.5
    assert len(losses) == 2 and 10.5 < losses[0] < 12.5
