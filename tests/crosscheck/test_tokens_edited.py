"""Issue 24 hostile pass: a train row's tokens edited (x1000) moved energy per token 1000x at exit
0. `olmo-green train` writes global_batch_size x sequence length in every train row, and
config.yaml holds both for the last attempt (crosscheck/record.checked_tokens)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from tests.crosscheck.records import verify
from tests.record.golden_runs import RESUMED, TOKENS, make_run


def _report(run) -> dict:
    result = CliRunner().invoke(cli, ["report", str(run), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["runs"][0]


def _scale_tokens(run, scale: float, attempt: int | None = None) -> None:
    steps = pd.read_csv(run / "steps.csv")
    rows = steps["phase"] == "train"
    if attempt is not None:
        rows &= steps["attempt"] == attempt
    steps.loc[rows, "tokens"] = (steps.loc[rows, "tokens"] * scale).astype(int)
    steps.to_csv(run / "steps.csv", index=False)


@pytest.mark.parametrize("scale", [1000, 0.5])
def test_edited_tokens_count_the_configs_and_fail_verify(tmp_path, scale):
    run = make_run(tmp_path, "olmo2-a100")
    honest = _report(run)
    assert honest["tokens"] == 25 * TOKENS and verify(run)[0] == 0
    _scale_tokens(run, scale)
    edited = _report(run)
    assert edited["tokens"] == honest["tokens"]
    assert edited["energy_per_token_j"] == pytest.approx(honest["energy_per_token_j"])
    assert any("carry tokens other than config.yaml's batch x sequence length" in n for n in edited["notes"])
    code, out = verify(run)
    assert code == 1 and "25 train row(s) of attempt 0 carry tokens" in out


def test_an_earlier_attempt_of_another_batch_is_not_judged(tmp_path):
    """A resume may change the batch: config.yaml is the last attempt's, so only it is held."""
    run = make_run(tmp_path, RESUMED)
    _scale_tokens(run, 0.5, attempt=0)
    assert verify(run)[0] == 0
    _scale_tokens(run, 2, attempt=1)
    code, out = verify(run)
    assert code == 1 and "of attempt 1 carry tokens" in out


def test_a_loop_of_the_users_own_has_no_batch_to_hold_tokens_against(tmp_path):
    run = make_run(tmp_path, "olmo1-a100-meter")
    _scale_tokens(run, 1000)
    assert not any("carry tokens" in n for n in _report(run)["notes"])

