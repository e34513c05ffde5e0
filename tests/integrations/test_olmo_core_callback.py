"""The energy callback in a real OLMo-core training on CPU: windows, events, metrics, state, config."""

from __future__ import annotations

import math

import pytest
import torch
import yaml

from olmo_green import record as rr
from olmo_green.errors import ConfigError
from olmo_green.reports import account_run
from tests.integrations.olmo_core_helpers import metric_probe, record_total_j, train_in_process

pytest.importorskip("olmo_core", reason="ai2-olmo-core is in the test extra: pip install -e '.[test]'")
STEPS, SAVE_EVERY, EVAL_EVERY = 12, 5, 4
A100_KG_PER_KWH, A100_PUE = 0.656, 1.1  # the mosaicml-a100 profile's headline intensity and PUE


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """12 steps, async saves every 5 (and OLMo-core's step-0 and final saves), an eval every 4."""
    run_dir = tmp_path_factory.mktemp("olmo_core") / "run"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        trainer = train_in_process(
            run_dir, "--steps", str(STEPS), "--save-interval", str(SAVE_EVERY), "--save-async", "yes",
            "--eval-interval", str(EVAL_EVERY), "--hardware", "mosaicml-a100", "--simulate",
            "--tag", "team=pretrain", "--sampling-interval-s", "0.02",
            extra_callbacks={"probe": metric_probe()})
    finally:
        torch.set_num_threads(threads)
    return run_dir, trainer


def test_each_step_is_one_train_row_with_tokens_loss_and_lr(run):
    run_dir, _ = run
    steps = rr.read_steps(run_dir)
    train = steps[steps["phase"] == "train"]
    assert train["step"].tolist() == list(range(1, STEPS + 1))
    assert (train["tokens"] == 8 * 256).all()
    assert train["loss"].notna().all() and train["loss"].iloc[-1] < train["loss"].iloc[0]
    assert train["lr"].tolist() == pytest.approx([3e-3] * STEPS)
    assert (train["energy_j"] > 0).all() and set(steps["attempt"]) == {0}


def test_saves_and_evals_are_windows_and_everything_adds_up_to_the_run_total(run):
    run_dir, _ = run
    steps = rr.read_steps(run_dir)
    saves = steps.loc[steps["phase"] == "checkpoint", "step"].tolist()
    assert saves == [0, 5, 10, 12]  # pre-train, interval, interval, final
    assert {4, 8} <= set(steps.loc[steps["phase"] == "eval", "step"])
    # windows tile the run: each starts where the one before ended
    assert (steps["time_start_s"].iloc[1:].to_numpy() == steps["time_end_s"].iloc[:-1].to_numpy()).all()
    assert steps["energy_j"].sum() == pytest.approx(record_total_j(run_dir), rel=1e-3)


def test_each_background_write_is_a_checkpoint_write_event(run):
    run_dir, _ = run
    writes = [e for e in rr.read_events(run_dir) if e["kind"] == "checkpoint_write"]
    assert [e["step"] for e in writes] == [0, 5, 10]  # the final save is synchronous
    assert all(e["duration_s"] > 0 and "error" not in e for e in writes)


def test_config_yaml_holds_the_profile_and_tags_and_the_report_uses_its_pue(run):
    run_dir, _ = run
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["resolved_hardware"]["name"] == "mosaicml-a100" and config["tags"] == {"team": "pretrain"}
    account = account_run(run_dir)
    assert account.pue == A100_PUE and account.hardware == "mosaicml-a100"
    assert account.tokens == STEPS * 8 * 256


def test_energy_metrics_reach_olmo_cores_loggers_every_step(run):
    run_dir, trainer = run
    logged = trainer.callbacks["probe"].logged
    steps = rr.read_steps(run_dir)
    train = steps[steps["phase"] == "train"].set_index("step")
    train_j = train["energy_j"]
    kwh = [logged[s]["energy/total_energy_kwh"] for s in range(1, STEPS + 1)]
    for step in range(1, STEPS + 1):
        assert logged[step]["energy/step_energy_j"] == pytest.approx(train_j[step], rel=1e-9)
        # the step's mean power: its energy over its duration, not a reading after it
        duration_s = train.loc[step, "time_end_s"] - train.loc[step, "time_start_s"]
        assert logged[step]["energy/power_w"] == pytest.approx(train_j[step] / duration_s, rel=1e-6)
        assert logged[step]["energy/idle_power_w"] > 0
        emissions_kg = kwh[step - 1] * A100_PUE * A100_KG_PER_KWH
        assert logged[step]["energy/emissions_kg_co2e"] == pytest.approx(emissions_kg)
    assert kwh == sorted(kwh) and kwh[-1] * 3.6e6 <= steps["energy_j"].sum()


def test_the_meter_state_rides_in_olmo_cores_checkpoint(run):
    run_dir, _ = run
    state = torch.load(run_dir / "checkpoints" / "step10" / "train" / "rank0.pt", weights_only=False)
    energy = state["callbacks"]["energy"]
    steps = rr.read_steps(run_dir)
    save_start = steps.loc[(steps["phase"] == "checkpoint") & (steps["step"] == 10), "time_start_s"].item()
    before = steps.loc[steps["time_end_s"] <= save_start, "energy_j"].sum()
    assert energy["last_step"] == 10
    assert math.fsum(energy["phase_j"].values()) == pytest.approx(before, rel=1e-9)


def test_the_wrapped_methods_are_restored_after_the_run(run):
    _, trainer = run
    assert "save_checkpoint" not in vars(trainer) and "save_checkpoint_async" not in vars(trainer)
    assert all("perform_eval" not in vars(cb) for cb in trainer.callbacks.values())


def test_a_second_energy_callback_in_one_trainer_is_refused(tmp_path):
    from olmo_green.integrations.olmo_core import EnergyCallbackConfig
    from tests.integrations.olmo_core_helpers import load_example

    example = load_example()
    args = example.parse_args(["--run-dir", str(tmp_path), "--steps", "1"])
    with pytest.raises(ConfigError, match="2 olmo-green energy callbacks"):
        example.build_trainer(args, tmp_path, {"energy_again": EnergyCallbackConfig()})


def test_the_config_survives_olmo_cores_copies_and_serialisation(tmp_path):
    from olmo_core.train import TrainerConfig
    from olmo_core.train.callbacks import CheckpointerCallback

    from olmo_green.integrations.olmo_core import EnergyCallbackConfig

    config = TrainerConfig(save_folder=str(tmp_path)).with_callback(
        "energy", EnergyCallbackConfig(hardware="lumi", tags={"team": "pretrain"}))
    config = config.with_callback("checkpointer", CheckpointerCallback())  # deep-copies "energy"
    saved = config.as_config_dict()["callbacks"]["energy"]
    assert saved["hardware"] == "lumi" and saved["tags"] == {"team": "pretrain"}


def test_a_training_error_closes_the_record_with_the_steps_done(tmp_path, one_thread):
    from dataclasses import dataclass

    from olmo_core.train.callbacks import Callback

    @dataclass
    class FailAtStep3(Callback):  # priority 0: runs after the energy callback ended step 3
        def post_train_batch(self):
            if self.step == 3:
                raise RuntimeError("injected failure at step 3")

    with pytest.raises(RuntimeError, match="injected failure"):
        train_in_process(tmp_path, "--steps", "6", "--save-interval", "100", "--hardware", "lumi",
                         "--simulate", extra_callbacks={"fail": FailAtStep3()})
    steps = rr.read_steps(tmp_path)
    assert steps.loc[steps["phase"] == "train", "step"].tolist() == [1, 2, 3]
    node = rr.node_names(tmp_path)[0]
    assert not rr.open_chunk_path(tmp_path, node).exists()  # closed: the open chunk rolled to Parquet
    assert steps["energy_j"].sum() == pytest.approx(record_total_j(tmp_path), rel=1e-3)
