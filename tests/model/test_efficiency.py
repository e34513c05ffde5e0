"""Speed options: activation checkpointing and per-block compile change speed, not the losses."""

import shutil

import pytest
import torch

from olmo_green.config import OptimSection
from olmo_green.model import efficiency
from olmo_green.model.build import build_model, model_config
from olmo_green.model.distributed import DistEnv
from olmo_green.model.optim import build_optimizer, optimizer_kernel
from tests.model.helpers import byte_data, make_trainer, small_config, train_losses

pytestmark = pytest.mark.usefixtures("one_thread")


def _losses(tmp_path, name: str, *overrides: str) -> list[float]:
    data = byte_data(tmp_path / "data")
    make_trainer(small_config(data, "save_interval=100", *overrides), tmp_path / name).fit()
    return train_losses(tmp_path / name)


@pytest.mark.parametrize("mode", ["full", "selective"])
def test_activation_checkpointing_gives_bit_identical_losses(tmp_path, mode):
    eager = _losses(tmp_path, "eager", "model.compile=false")
    recomputed = _losses(tmp_path, mode, f"model.activation_checkpointing={mode}",
                         "model.activation_checkpointing_every=3")
    assert len(eager) == 6 and eager[-1] < eager[0]
    assert recomputed == eager  # the same floats, not approximately


def test_checkpointed_blocks_follow_the_mode():
    assert efficiency.checkpointed_blocks("none", 2, 4) == []
    assert efficiency.checkpointed_blocks("full", 2, 4) == [0, 1, 2, 3]
    assert efficiency.checkpointed_blocks("selective", 2, 5) == [0, 2, 4]
    assert efficiency.checkpointed_blocks("selective", 3, 4) == [0, 3]


def test_activation_checkpointing_recomputes_marked_blocks_in_backward():
    """The option is live: a marked block runs its forward twice per training step."""
    model = build_model(model_config("tiny"), 1, torch.device("cpu"), DistEnv())
    efficiency.apply_activation_checkpointing(model, "selective", 2)
    calls = [0] * len(model.transformer.blocks)
    for i, block in enumerate(model.transformer.blocks):
        block.register_forward_pre_hook(lambda module, args, i=i: calls.__setitem__(i, calls[i] + 1))
    ids = torch.randint(0, 257, (2, 16))
    model(ids).sum().backward()
    assert calls == [2, 1, 2, 1]


def test_compile_default_is_on_for_gpus_and_off_on_cpu():
    assert efficiency.compile_wanted(None, torch.device("cpu")) is False
    assert efficiency.compile_wanted(None, torch.device("cuda")) is True
    assert efficiency.compile_wanted(True, torch.device("cpu")) is True
    assert efficiency.compile_wanted(False, torch.device("cuda")) is False


def test_optimizer_is_foreach_on_cpu_with_olmos_param_groups():
    model = build_model(model_config("olmo2-tiny"), 1, torch.device("cpu"), DistEnv())
    assert optimizer_kernel(model) == {"foreach": True}
    optimizer = build_optimizer(model, OptimSection(decay_norm_and_bias=True))
    assert optimizer.defaults["foreach"] is True and not optimizer.defaults.get("fused")
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.1, 0.0]  # embeddings undecayed


@pytest.mark.skipif(shutil.which("g++") is None and shutil.which("gcc") is None,
                    reason="torch.compile on CPU needs a C++ compiler")
def test_compiled_blocks_keep_losses_within_2e_3_of_eager_over_8_steps(tmp_path):
    from torch._dynamo.utils import counters  # Dynamo's own tally: compile really ran

    eager = _losses(tmp_path, "eager", "max_steps=8", "model.compile=false")
    graphs_before = counters["stats"]["unique_graphs"]
    compiled = _losses(tmp_path, "compiled", "max_steps=8", "model.compile=true")
    assert counters["stats"]["unique_graphs"] > graphs_before
    assert len(compiled) == len(eager) == 8 and eager[-1] < eager[0]
    for a, b in zip(compiled, eager, strict=True):
        assert a == pytest.approx(b, rel=2e-3)


def test_compiled_model_keeps_its_parameter_names():
    """Checkpoints, HF export and resumes see the same state dict with compile on or off."""
    model = build_model(model_config("tiny"), 1, torch.device("cpu"), DistEnv())
    names = list(model.state_dict())
    efficiency.compile_blocks(model)  # compiles lazily: no compilation runs here
    assert list(model.state_dict()) == names
    assert not any("_orig_mod" in name for name in names)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_optimizer_is_fused_on_gpu():
    model = build_model(model_config("tiny"), 1, torch.device("cuda"), DistEnv())
    optimizer = build_optimizer(model, OptimSection())
    assert optimizer.defaults["fused"] is True


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_run_with_every_option_trains_and_publishes_its_async_checkpoints(tmp_path):
    """bf16 autocast, per-block compile, activation checkpointing, fused AdamW, async saves from GPU."""
    from olmo_green.model import checkpoint as ckpt
    from olmo_green.model.build import build_parts
    from olmo_green.model.trainer import Trainer

    data = byte_data(tmp_path / "data")
    config = small_config(data, "max_steps=6", "save_interval=2", "model.compile=true",
                          "model.activation_checkpointing=full", "async_checkpoint=true")
    run = tmp_path / "run"
    run.mkdir()
    trainer = Trainer(build_parts(config, run, torch.device("cuda"), DistEnv()))
    assert trainer.fit() == "completed"
    losses = train_losses(run)
    assert len(losses) == 6 and losses[-1] < losses[0]
    assert ckpt.latest_checkpoint(run / "checkpoints").name == "step000006"
