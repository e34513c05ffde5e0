"""Parity of accounting: the same tiny model and tokens trained by `olmo-green train` and by OLMo-core
with the callback, on simulated LUMI sensors, give reports of one shape and the same energy per token
up to the two loops' speed difference."""

from __future__ import annotations

import math

import pytest
import torch
from click.testing import CliRunner

from olmo_green import record as rr
from olmo_green.cli import cli
from olmo_green.reports import account_run, render, to_json_dict
from tests.integrations.olmo_core_helpers import train_in_process
from tests.model.helpers import byte_data

pytest.importorskip("olmo_core", reason="ai2-olmo-core is in the test extra: pip install -e '.[test]'")
STEPS, TOKENS_PER_STEP = 12, 8 * 256
# olmo-green's `tiny` (d_model 128, 4 heads, 4 layers, byte vocabulary in a 384 embedding, 256-token
# sequences, 8 per step) beside the example's olmo2_14M cut to the same sizes.
OLMO_GREEN_TINY = ["--model", "tiny", "--set", "model.sequence_length=256", "--set", "eval_interval=0",
                   "--set", "batch.global_batch_size=8", "--set", "batch.micro_batch_size=8",
                   "--set", "progress=false"]
SIMULATED_LUMI = ["--hardware", "lumi", "--simulate"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("parity")
    data = byte_data(root / "data", n_tokens=STEPS * TOKENS_PER_STEP + 4096)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = CliRunner().invoke(cli, ["train", "--data", str(data), "--run-dir", str(root / "olmo_green"),
                                          "--max-steps", str(STEPS), "--save-interval", str(STEPS),
                                          *SIMULATED_LUMI, *OLMO_GREEN_TINY])
        assert result.exit_code == 0, result.output
        train_in_process(root / "olmo_core", "--data", str(data / "input_ids.npy"), "--steps", str(STEPS),
                         "--save-interval", str(STEPS), *SIMULATED_LUMI)
    finally:
        torch.set_num_threads(threads)
    return root / "olmo_green", root / "olmo_core"


def _keys(value):
    """The key structure of a JSON value (what a script reading the report relies on)."""
    if isinstance(value, dict):
        return {k: _keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys(value[0])] if value else []
    return None


def _md_skeleton(run_dir) -> list[str]:
    """Headings and table headers of the markdown report, with the run's name taken out."""
    text = render([account_run(run_dir)], "md").replace(run_dir.name, "RUN")
    lines = text.splitlines()
    return [line for i, line in enumerate(lines) if line.startswith("#")
            or (line.startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"))]


def test_both_reports_have_one_shape(runs):
    ours, theirs = runs
    assert _keys(to_json_dict([account_run(ours)])) == _keys(to_json_dict([account_run(theirs)]))
    assert _md_skeleton(ours) == _md_skeleton(theirs)
    for run_dir in runs:
        steps = rr.read_steps(run_dir)
        train = steps[steps["phase"] == "train"]
        assert train["step"].tolist() == list(range(1, STEPS + 1))
        assert (train["tokens"] == TOKENS_PER_STEP).all()
        assert set(steps["phase"]) <= {"train", "checkpoint", "idle"}
        assert account_run(run_dir).tokens == STEPS * TOKENS_PER_STEP


def test_both_models_learn_alike(runs):
    first, last = [], []
    for run_dir in runs:
        loss = rr.read_steps(run_dir).query("phase == 'train'")["loss"]
        first.append(loss.iloc[0])
        last.append(loss.iloc[-1])
    assert all(abs(f - math.log(384)) < 0.6 for f in first)  # both start near uniform over 384 ids
    assert abs(last[0] - last[1]) < 0.25 * max(last)


def _per_token(run_dir) -> tuple[float, float]:
    """(seconds, joules) per token of the steady steps: step 1 holds each loop's start-up."""
    steps = rr.read_steps(run_dir)
    train = steps[(steps["phase"] == "train") & (steps["step"] > 1)]
    tokens = train["tokens"].sum()
    return (train["time_end_s"] - train["time_start_s"]).sum() / tokens, train["energy_j"].sum() / tokens


def test_energy_per_token_differs_only_as_much_as_the_loops_speed(runs, capsys):
    (ours_s, ours_j), (theirs_s, theirs_j) = (_per_token(r) for r in runs)
    speed_ratio, energy_ratio = theirs_s / ours_s, theirs_j / ours_j
    with capsys.disabled():
        faster = "OLMo-core" if speed_ratio < 1 else "olmo-green train"
        print(f"\nparity: s/token olmo-green {ours_s * 1e3:.4f} ms, OLMo-core {theirs_s * 1e3:.4f} ms "
              f"({faster} faster, ratio {speed_ratio:.3f}); J/token {ours_j:.4f} vs {theirs_j:.4f} "
              f"(ratio {energy_ratio:.3f})")
    # Simulated power is a function of the phase alone, so a loop that takes less time per token
    # spends less energy per token in the same proportion. What remains (1%) is the host work
    # between steps inside the windows, which the model draws at idle power.
    assert abs(math.log(energy_ratio)) <= abs(math.log(speed_ratio)) + 0.01
    assert abs(math.log(energy_ratio / speed_ratio)) < 0.01
