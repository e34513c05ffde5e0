"""Train, checkpoint, convert, load in transformers: the logits are the trainer's model's.

The checkpoints are the real trainer's (`olmo-green train`, one process, and two gloo
processes under torchrun writing DCP shards); the project model is rebuilt from them
by an independent path (torch.load, or torch's own dcp_to_torch_save), and the HF
folder is read back by transformers and huggingface_hub only.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.model.config import OLMoConfig
from olmo_green.model.olmo import OLMo
from tests.model.helpers import byte_data

pytestmark = pytest.mark.usefixtures("one_thread")
SMALL = ["--set", "model.sequence_length=32", "--set", "batch.global_batch_size=8",
         "--set", "batch.micro_batch_size=4", "--set", "progress=false", "--simulate", "--hardware", "lumi"]


def train(data: Path, run: Path, model: str, steps: int = 2) -> None:
    result = CliRunner().invoke(cli, ["train", "--model", model, "--data", str(data), "--run-dir", str(run),
                                      "--max-steps", str(steps), *SMALL])
    assert result.exit_code == 0, result.output


def convert(src: Path, dst: Path, *extra: str):
    return CliRunner().invoke(cli, ["convert", "olmo-to-hf", str(src), str(dst), *extra])


def project_model(run: Path, state: dict) -> OLMo:
    """The trainer's model from the run's own config.yaml and a state dict read by torch."""
    config = yaml.safe_load((run / "config.yaml").read_text())["resolved_model"]
    model = OLMo(OLMoConfig(**config), init=False)
    model.load_state_dict(state)
    return model.eval()


def assert_same_logits(model: OLMo, hf_dir: Path) -> None:
    from transformers import AutoModelForCausalLM

    hf = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32).eval()
    ids = torch.randint(0, model.config.vocab_size, (2, 24), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ours, theirs = model(ids), hf(ids).logits
    assert ours.shape == theirs.shape
    assert torch.allclose(ours, theirs, atol=1e-5, rtol=0), (ours - theirs).abs().max()


def card_of(hf_dir: Path):
    """The exported model card, parsed by huggingface_hub."""
    from huggingface_hub import ModelCard

    return ModelCard.load(hf_dir / "README.md")


@pytest.mark.parametrize("model", ["tiny", "olmo2-tiny", "olmo3-tiny"])
def test_single_process_run_exports_to_transformers_with_equal_logits(model, tmp_path):
    run, out = tmp_path / "run", tmp_path / "hf"
    train(byte_data(tmp_path / "data"), run, model)
    result = convert(run, out)  # the run folder: its latest checkpoint
    assert result.exit_code == 0, result.output
    assert "latest checkpoint of run" in result.output and "model card from run" in result.output
    state = torch.load(run / "checkpoints" / "step000002" / "model_optim.pt", weights_only=True)["model"]
    assert_same_logits(project_model(run, state), out)
    card = card_of(out)
    emissions = card.data.co2_eq_emissions
    assert "olmo-green" in emissions["source"] and "MI250X" in emissions["hardware_used"]  # lumi's
    assert f"| {run.name} | MI250X" in card.text  # the run's own row in the environmental table


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("model", ["tiny", "olmo3-tiny"])
def test_two_process_sharded_checkpoint_exports_with_equal_logits(model, tmp_path):
    data, run, out = byte_data(tmp_path / "data"), tmp_path / "run", tmp_path / "hf"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
               "--master-port", str(_free_port()), "-m", "olmo_green.cli", "train", "--model", model,
               "--data", str(data), "--run-dir", str(run), "--max-steps", "2", *SMALL]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    checkpoint = run / "checkpoints" / "step000002"
    assert (checkpoint / "sharded" / ".metadata").is_file() and not (checkpoint / "model_optim.pt").exists()

    result = convert(checkpoint, out)  # the checkpoint folder itself
    assert result.exit_code == 0, result.output
    assert f"converting checkpoint {checkpoint}" in result.output

    # torch's own converter, not ours, gives the reference state dict
    from torch.distributed.checkpoint.format_utils import dcp_to_torch_save

    dcp_to_torch_save(str(checkpoint / "sharded"), str(tmp_path / "whole.pt"))
    state = torch.load(tmp_path / "whole.pt", weights_only=True)["model"]
    assert_same_logits(project_model(run, state), out)
