"""`convert` on trainer checkpoints that cannot be exported, and on hostile HF configs: one
line each, exit 2, and nothing written at DST (an existing empty DST stays as it was)."""

import json
import shutil

import pytest
import torch
import yaml
from click.testing import CliRunner
from safetensors.torch import load_file, save_file

from olmo_green.cli import cli
from olmo_green.model import checkpoint as ckpt
from olmo_green.model.config import OLMoConfig
from olmo_green.model.olmo import OLMo

pytestmark = pytest.mark.usefixtures("one_thread")


def trainer_run(root, family_preset: str = "tiny", config_preset: str | None = None, optim: bool = True):
    """A run folder laid out by the trainer's own save: config.yaml and checkpoints/step000001."""
    torch.manual_seed(0)
    model = OLMo(OLMoConfig.from_preset(family_preset))
    optimizer = torch.optim.AdamW(model.parameters())
    run = root / "run"
    ckpt.save_checkpoint(run / "checkpoints", 1, model, optimizer, {"step": 1})
    if not optim:  # a model-only checkpoint
        path = run / "checkpoints" / "step000001" / ckpt.MODEL_OPTIM_FILE
        torch.save({"model": torch.load(path, weights_only=True)["model"]}, path)
    config = OLMoConfig.from_preset(config_preset or family_preset).to_dict()
    (run / "config.yaml").write_text(yaml.safe_dump({"model": {"name": "x"}, "resolved_model": config}))
    return run, model


def convert(src, dst, direction="olmo-to-hf", *extra):
    return CliRunner().invoke(cli, ["convert", direction, str(src), str(dst), *extra])


def assert_refused(result, dst, *words):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("olmo-green: error:") and "Traceback" not in result.output
    assert all(w in lines[-1] for w in words), lines[-1]
    assert not dst.exists() or not any(dst.iterdir())  # nothing written
    assert not list(dst.parent.glob(f".{dst.name}.partial"))


def test_model_only_checkpoint_converts_and_matches(tmp_path):
    run, model = trainer_run(tmp_path, optim=False)
    result = convert(run / "checkpoints" / "step000001", tmp_path / "hf")
    assert result.exit_code == 0, result.output
    back = OLMo.from_pretrained(tmp_path / "hf")
    for name, tensor in model.state_dict().items():
        assert torch.equal(back.state_dict()[name], tensor), name


def test_run_folder_takes_latest_not_a_newer_partial_save(tmp_path):
    run, _ = trainer_run(tmp_path)
    shutil.copytree(run / "checkpoints" / "step000001", run / "checkpoints" / "step000002.partial")
    result = convert(run, tmp_path / "hf")
    assert result.exit_code == 0, result.output
    assert f"converting {run / 'checkpoints' / 'step000001'}, the latest checkpoint of run" in result.output
    (run / "checkpoints" / "latest").unlink()  # no pointer: the newest complete step
    result = convert(run, tmp_path / "hf1")
    assert result.exit_code == 0 and "step000001, the newest complete checkpoint" in result.output
    assert_refused(convert(run / "checkpoints" / "step000002.partial", tmp_path / "hf2"), tmp_path / "hf2",
                   ".partial", "complete one")


def test_checkpoint_of_another_family_is_refused(tmp_path):
    run, _ = trainer_run(tmp_path, family_preset="tiny", config_preset="olmo2-tiny")
    dst = tmp_path / "hf"
    dst.mkdir()  # an empty DST stays
    assert_refused(convert(run, dst), dst, "olmo2", "another model family")
    assert dst.is_dir()


def test_half_written_checkpoints_are_refused(tmp_path):
    run, _ = trainer_run(tmp_path)
    step = run / "checkpoints" / "step000001"
    data = (step / ckpt.MODEL_OPTIM_FILE).read_bytes()
    (step / ckpt.MODEL_OPTIM_FILE).write_bytes(data[: len(data) // 2])
    assert_refused(convert(step, tmp_path / "a"), tmp_path / "a", "corrupt or truncated")
    (step / ckpt.MODEL_OPTIM_FILE).unlink()
    assert_refused(convert(step, tmp_path / "b"), tmp_path / "b", "incomplete")
    (step / "sharded").mkdir()  # DCP writes .metadata last: without it the save did not finish
    assert_refused(convert(step, tmp_path / "c"), tmp_path / "c", ".metadata")
    empty = tmp_path / "empty_run"
    (empty / "checkpoints").mkdir(parents=True)
    assert_refused(convert(empty, tmp_path / "d"), tmp_path / "d", "no complete checkpoint")


@pytest.mark.parametrize("document", [["model", "list"], {"resolved_model": {"n_layers": "4"}}])
def test_bad_run_config_is_refused(tmp_path, document):
    run, _ = trainer_run(tmp_path)
    if isinstance(document, dict):  # one field of the real configuration replaced by a string
        real = yaml.safe_load((run / "config.yaml").read_text())
        document = {**real, "resolved_model": {**real["resolved_model"], **document["resolved_model"]}}
    (run / "config.yaml").write_text(yaml.safe_dump(document))
    assert_refused(convert(run, tmp_path / "hf"), tmp_path / "hf", "config.yaml")


def test_int8_weights_are_refused(tmp_path):
    run, _ = trainer_run(tmp_path)
    path = run / "checkpoints" / "step000001" / ckpt.MODEL_OPTIM_FILE
    state = torch.load(path, weights_only=True)
    state["model"] = {k: v.to(torch.int8) for k, v in state["model"].items()}
    torch.save(state, path)
    assert_refused(convert(run, tmp_path / "hf"), tmp_path / "hf", "torch.int8", "quantised")


def hf_folder(tmp_path):
    torch.manual_seed(0)
    OLMo(OLMoConfig.from_preset("tiny")).save_pretrained(tmp_path / "src")
    return tmp_path / "src"


@pytest.mark.parametrize("change", ["list", "string_layers", "int8"])
def test_hostile_hf_checkpoints_are_refused(tmp_path, change):
    src = hf_folder(tmp_path)
    config = json.loads((src / "config.json").read_text())
    if change == "list":
        (src / "config.json").write_text(json.dumps([config]))
        words = ("JSON list",)
    elif change == "string_layers":
        (src / "config.json").write_text(json.dumps({**config, "num_hidden_layers": "4"}))
        words = ("num_hidden_layers", "integer")
    else:
        tensors = load_file(str(src / "model.safetensors"))
        save_file({k: v.to(torch.int8) for k, v in tensors.items()}, str(src / "model.safetensors"))
        words = ("torch.int8",)
    assert_refused(convert(src, tmp_path / "out", "hf-to-olmo"), tmp_path / "out", *words)


def test_trainer_checkpoint_given_to_hf_to_olmo_names_the_direction(tmp_path):
    run, _ = trainer_run(tmp_path)
    assert_refused(convert(run, tmp_path / "x", "hf-to-olmo"), tmp_path / "x", "olmo-to-hf")
