"""`olmo-green prepare-data`: text and JSONL into OLMo's memmap, read back exactly."""

import json

import numpy as np
from click.testing import CliRunner

from olmo_green.cli import cli


def run(*args):
    return CliRunner().invoke(cli, ["prepare-data", *map(str, args)])


def test_byte_level_round_trip_of_text_and_jsonl(tmp_path):
    (tmp_path / "a.txt").write_text("héllo\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(json.dumps({"text": "ab"}) + "\n\n" + json.dumps({"text": "c"}) + "\n")
    result = run(tmp_path / "a.txt", tmp_path / "b.jsonl", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    ids = np.fromfile(tmp_path / "out" / "input_ids.npy", dtype=np.uint16)
    expected = list("héllo\n".encode()) + [256] + [97, 98, 256, 99, 256]
    assert ids.tolist() == expected
    docs = bytes(int(i) for i in ids if i != 256)
    assert docs.decode("utf-8") == "héllo\nabc"


def test_a_tokenizers_json_file_is_used_with_its_end_of_text_token(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"<|endoftext|>": 0, "hello": 1, "world": 2, "[UNK]": 3}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(tmp_path / "tok.json"))
    (tmp_path / "t.txt").write_text("hello world moon")
    result = run(tmp_path / "t.txt", "--out", tmp_path / "out", "--tokenizer", tmp_path / "tok.json")
    assert result.exit_code == 0, result.output
    assert np.fromfile(tmp_path / "out" / "input_ids.npy", dtype=np.uint16).tolist() == [1, 2, 3, 0]


def test_bad_inputs_are_one_line_errors_with_exit_code_2(tmp_path):
    result = run(tmp_path / "missing.txt", "--out", tmp_path / "out")
    assert result.exit_code == 2 and "does not exist" in result.output
    (tmp_path / "bad.jsonl").write_text('{"txt": 1}\n')
    result = run(tmp_path / "bad.jsonl", "--out", tmp_path / "out")
    assert result.exit_code == 2 and "bad.jsonl:1" in result.output
    assert "Traceback" not in result.output
