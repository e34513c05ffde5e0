"""Figures unchanged (issue 22): report JSON, model card and codecarbon CSV of fixed-seed records
equal the ones stored in tests/record/golden/, made by the code before the record/ refactoring.

Regenerate (only when a figure changes on purpose, saying why in the commit):
    OLMO_GREEN_REGEN_GOLDEN=1 pytest tests/record/test_golden.py
"""

from __future__ import annotations

import io
import json
import math
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from tests.record.golden_runs import make_all

GOLDEN = Path(__file__).parent / "golden"
REL_TOL = 1e-9
# Keys a report may gain on purpose after the golden files were made ("report.json" paths end
# in the key's name, e.g. "runs.mfu_source"); none so far.
ALLOWED_NEW_KEYS: set[str] = {"runs.mfu_note"}  # why mfu is null: words, not a figure
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("golden")
    names = [run.name for run in make_all(root)]
    cwd = os.getcwd()
    os.chdir(root)  # relative run paths: the outputs name runs the same wherever they are made
    try:
        runner = CliRunner()
        made = {}
        for name, args in {"report.json": ["report", *names, "--format", "json"],
                           "codecarbon.csv": ["report", *names, "--format", "codecarbon"],
                           "model_card.md": ["model-card", *names, "--model-name", "golden"]}.items():
            result = runner.invoke(cli, args, catch_exceptions=False)
            assert result.exit_code == 0, result.output
            made[name] = result.output
        verify = runner.invoke(cli, ["report", *names, "--verify"], catch_exceptions=False)
        made["verify_exit_code"] = str(verify.exit_code)
    finally:
        os.chdir(cwd)
    if os.environ.get("OLMO_GREEN_REGEN_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        for name in ("report.json", "codecarbon.csv", "model_card.md"):
            (GOLDEN / name).write_text(made[name], encoding="utf-8")
    return made


def _same(old: object, new: object, where: str) -> None:
    if isinstance(old, dict):
        assert isinstance(new, dict), where
        added = {k for k in set(new) - set(old) if f"{where}.{k}".lstrip(".") not in ALLOWED_NEW_KEYS}
        assert not added and set(old) <= set(new), f"{where}: keys {set(old) ^ set(new)} changed"
        for key in old:
            _same(old[key], new[key], f"{where}.{key}")
    elif isinstance(old, list):
        assert isinstance(new, list) and len(old) == len(new), where
        for o, n in zip(old, new, strict=True):
            _same(o, n, where)
    elif isinstance(old, float) and isinstance(new, (int, float)) and not isinstance(new, bool):
        assert math.isclose(old, new, rel_tol=REL_TOL, abs_tol=1e-300) or (math.isnan(old) and
                                                                         math.isnan(new)), \
            f"{where}: {old} became {new}"
    else:
        assert old == new, f"{where}: {old!r} became {new!r}"


def _numbers_and_text(text: str) -> tuple[list[str], list[float]]:
    return _NUMBER.split(text), [float(n) for n in _NUMBER.findall(text)]


def test_report_json_figures_unchanged(outputs):
    old = json.loads((GOLDEN / "report.json").read_text(encoding="utf-8"))
    new = json.loads(outputs["report.json"])
    assert len(new["runs"]) == 5
    _same(old, new, "")


def test_codecarbon_csv_unchanged(outputs):
    # read back with pandas, as a codecarbon user would
    old = pd.read_csv(GOLDEN / "codecarbon.csv")
    new = pd.read_csv(io.StringIO(outputs["codecarbon.csv"]))
    assert list(new.columns) == list(old.columns) and len(new) == len(old) == 5
    assert new["run_id"].nunique() == 5
    for column in old.columns:
        if column == "run_id":  # uuid5 of the run's absolute path: differs per temporary folder
            continue
        if pd.api.types.is_numeric_dtype(old[column]):
            pd.testing.assert_series_equal(old[column], new[column], rtol=REL_TOL, check_dtype=False)
        else:
            assert old[column].fillna("").tolist() == new[column].fillna("").tolist(), column


def test_model_card_unchanged(outputs):
    old_text, old_numbers = _numbers_and_text((GOLDEN / "model_card.md").read_text(encoding="utf-8"))
    new_text, new_numbers = _numbers_and_text(outputs["model_card.md"])
    assert new_text == old_text
    assert new_numbers == pytest.approx(old_numbers, rel=REL_TOL)


def test_verify_agrees_with_summaries(outputs):
    # the config's sampling interval sets the gap threshold both sides use: they must agree
    assert outputs["verify_exit_code"] == "0"


def test_golden_records_are_meaningful(outputs):
    """The fixtures hold what the issue asks: three families, two profiles, a resumed run, MFU."""
    runs = {run["name"]: run for run in json.loads(outputs["report.json"])["runs"]}
    assert {run["hardware"] for run in runs.values()} == {"lumi", "mosaicml-a100"}
    assert runs["olmo2-a100"]["mfu"] and runs["olmo3-lumi"]["mfu"]
    assert runs["olmo1-a100-resumed"]["tokens"] == 20 * 2048  # redone steps 11 and 12 count once
