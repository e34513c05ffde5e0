"""hf_energy_callback inside the real transformers Trainer (tiny OLMo 2, CPU): every step row
has the loss and learning rate Trainer logged for that step, and each train() is an attempt."""

import pytest
import torch

from olmo_green import record as rr
from olmo_green.telemetry import hf_energy_callback

transformers = pytest.importorskip("transformers")  # the [test] extra installs it
pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_trainer(tmp_path, callback, logging_steps: int, max_steps: int = 4):
    from transformers import Olmo2Config, Olmo2ForCausalLM, Trainer, TrainingArguments

    torch.manual_seed(0)
    model = Olmo2ForCausalLM(Olmo2Config(vocab_size=64, hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=4,
                                         max_position_embeddings=32))
    ids = torch.randint(0, 64, (16, 12), generator=torch.Generator().manual_seed(1))
    data = [{"input_ids": row, "labels": row} for row in ids]
    args = TrainingArguments(output_dir=str(tmp_path / "hf_out"), max_steps=max_steps,
                             per_device_train_batch_size=2, learning_rate=1e-3, lr_scheduler_type="linear",
                             logging_steps=logging_steps, save_strategy="no", report_to=[],
                             use_cpu=True, disable_tqdm=True, seed=0)
    return Trainer(model=model, args=args, train_dataset=data, callbacks=[callback])


def logged(trainer) -> dict[int, dict]:
    """Trainer's own training logs by step (the final summary has no "loss" key)."""
    return {entry["step"]: entry for entry in trainer.state.log_history if "loss" in entry}


def train_rows(run_dir, attempt: int = 0):
    steps = rr.read_steps(run_dir)
    rows = steps[(steps["phase"] == "train") & (steps["attempt"] == attempt)]
    return rows.set_index("step")


def metered(tmp_path, logging_steps: int, max_steps: int = 4):
    """(run directory, its hf_energy_callback, a tiny Trainer that calls it)."""
    run = tmp_path / "run"
    callback = hf_energy_callback(run, "h100", simulate=True, sampling_interval_s=0.01)
    return run, callback, tiny_trainer(tmp_path, callback, logging_steps, max_steps)


def trained(tmp_path, logging_steps: int):
    """(the step rows of one metered train(), Trainer's own logs by step)."""
    run, _, trainer = metered(tmp_path, logging_steps)
    trainer.train()
    return train_rows(run), logged(trainer)


def test_every_step_has_the_loss_trainer_logged(tmp_path):
    rows, logs = trained(tmp_path, logging_steps=1)
    assert sorted(rows.index) == sorted(logs) == [1, 2, 3, 4]
    for step, entry in logs.items():
        assert rows.loc[step, "loss"] == pytest.approx(entry["loss"], rel=1e-6)
        assert rows.loc[step, "lr"] == pytest.approx(entry["learning_rate"], rel=1e-6)
    assert len(set(rows["lr"])) > 1  # a linear schedule: each step its own rate, not a copy
    assert (rows["energy_j"] > 0).all()


def test_logging_every_second_step_lands_on_the_logged_steps(tmp_path):
    rows, logs = trained(tmp_path, logging_steps=2)
    assert sorted(logs) == [2, 4] and sorted(rows.index) == [1, 2, 3, 4]
    for step in (2, 4):
        assert rows.loc[step, "loss"] == pytest.approx(logs[step]["loss"], rel=1e-6)
    assert rows.loc[[1, 3], "loss"].isna().all()  # no loss was logged there: none is invented


def test_a_second_train_call_is_measured_as_attempt_1(tmp_path):
    run, callback, trainer = metered(tmp_path, logging_steps=1, max_steps=2)
    trainer.train()
    first = logged(trainer)
    trainer.train()  # the same Trainer and callback again
    second = logged(trainer)
    assert sorted(train_rows(run, 0).index) == sorted(train_rows(run, 1).index) == [1, 2]
    for step in (1, 2):
        assert train_rows(run, 0).loc[step, "loss"] == pytest.approx(first[step]["loss"], rel=1e-6)
        assert train_rows(run, 1).loc[step, "loss"] == pytest.approx(second[step]["loss"], rel=1e-6)
    another = tiny_trainer(tmp_path, callback, logging_steps=1, max_steps=2)  # a new Trainer, same callback
    another.train()
    assert sorted(train_rows(run, 2).index) == [1, 2]
    steps = rr.read_steps(run)
    assert (steps.loc[steps["phase"] == "train", "energy_j"] > 0).all()
