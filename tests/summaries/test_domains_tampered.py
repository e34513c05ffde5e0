"""A hand-edited domains.parquet (issue 24): --verify names the row, the domain and the column,
and a plain report reads a chunk again where its domain rows contradict its device rows.

The domain rows carry the energy per bucket (emissions, the steps.csv phases) and the power
bounds; an edit there left every device total right, so --verify, which compared only those,
passed it, and a plain report printed the edited emissions with exit 0.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.record.summaries import summary_path
from olmo_green.summaries.domainrows import NAMED_ROWS
from tests.summaries.test_summaries import T0_S, samples, write_record

TAMPERED = "n0.000001.parquet"


def sound_record(tmp_path):
    """Three chunks of one device, their summaries saved by a first plain report."""
    run_dir = write_record(tmp_path / "run", [samples(T0_S + 100 * k, 100, seed=k) for k in range(3)])
    assert CliRunner().invoke(cli, ["report", str(run_dir)]).exit_code == 0
    return run_dir


def edit_domains(run_dir, edit: Callable[[pd.DataFrame, pd.Series], None]) -> None:
    """Apply `edit(frame, rows of TAMPERED)` to the stored domain rows, in place on disk."""
    path = summary_path(run_dir, "n0", "domains")
    frame = pd.read_parquet(path)
    edit(frame, frame["chunk"] == TAMPERED)
    frame.to_parquet(path, index=False)


def verify(run_dir) -> tuple[int, list[str]]:
    result = CliRunner().invoke(cli, ["report", str(run_dir), "--verify"])
    return result.exit_code, result.output.splitlines()


def json_run(run_dir) -> dict:
    """A plain `report --format json`: the run's object (exit 0 asserted)."""
    result = CliRunner().invoke(cli, ["report", str(run_dir), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["runs"][0]


def double_energy(frame, rows):
    frame.loc[rows, "energy_j"] *= 2


def halve_middle_buckets(frame, rows):  # a train window's energy halved, the chunk's ends kept
    middle = rows & (frame["bucket"] > frame.loc[rows, "bucket"].min()) & \
        (frame["bucket"] < frame.loc[rows, "bucket"].max())
    frame.loc[middle, "energy_j"] *= 0.5


def ceiling_nan(frame, rows):
    frame.loc[rows, "ceiling_w"] = np.nan


def bounds_widened(frame, rows):
    frame.loc[rows, "ceiling_w"] *= 3
    frame.loc[rows, "floor_w"] = 0.0


EDITS = {"energy_j": double_energy, "energy_j-train-window": halve_middle_buckets,
         "ceiling_w": ceiling_nan, "floor_w": bounds_widened}


@pytest.mark.parametrize("column", list(EDITS))
def test_verify_names_the_chunk_domain_and_column_of_an_edited_domain_row(tmp_path, column):
    run_dir = sound_record(tmp_path)
    edit_domains(run_dir, EDITS[column])
    code, lines = verify(run_dir)
    assert code == 1, lines
    named = column.split("-")[0]
    hits = [line for line in lines if line.startswith(f"n0: {TAMPERED} domain gpu bucket ")
            and f" {named}: stored " in line]
    assert hits, lines
    assert not any("n0.000000" in line or "n0.000002" in line for line in lines)  # only the edited chunk


def test_a_dropped_domain_row_with_its_count_adjusted_is_named(tmp_path):
    run_dir = sound_record(tmp_path)
    path = summary_path(run_dir, "n0", "domains")
    frame = pd.read_parquet(path)
    dropped = frame.index[frame["chunk"] == TAMPERED][1]
    bucket = int(frame.loc[dropped, "bucket"])
    frame.drop(index=dropped).to_parquet(path, index=False)
    devices_path = summary_path(run_dir, "n0", "devices")
    devices = pd.read_parquet(devices_path)
    devices.loc[devices["chunk"] == TAMPERED, "chunk_domains"] -= 1  # so the summary stays current
    devices.to_parquet(devices_path, index=False)
    code, lines = verify(run_dir)
    assert code == 1
    assert f"n0: {TAMPERED} domain gpu bucket {bucket}: the chunk's samples give a domain row that " \
        "is not stored" in lines


def test_many_differing_rows_are_capped_and_counted(tmp_path):
    run_dir = sound_record(tmp_path)
    edit_domains(run_dir, lambda frame, _rows: frame.__setitem__("ceiling_w", np.nan))  # every chunk
    code, lines = verify(run_dir)
    assert code == 1
    named = [line for line in lines if " ceiling_w: stored nan" in line]
    assert len(named) == NAMED_ROWS
    assert any(line.startswith("n0: and ") and "more domain summary difference(s)" in line for line in lines)


def test_a_sound_record_verifies_clean_domain_rows_included(tmp_path):
    run_dir = sound_record(tmp_path)
    code, lines = verify(run_dir)
    assert code == 0, lines
    assert not any(" domain " in line for line in lines)


@pytest.mark.parametrize("column", ["energy_j", "energy_j-train-window", "ceiling_w"])
def test_a_plain_report_summarises_a_self_contradicting_chunk_again_and_says_so(tmp_path, column):
    run_dir = sound_record(tmp_path)
    sound = json_run(run_dir)
    edit_domains(run_dir, EDITS[column])
    stored = pd.read_parquet(summary_path(run_dir, "n0", "domains"))
    edited = json_run(run_dir)
    assert edited["emissions_tco2eq"] == pytest.approx(sound["emissions_tco2eq"], rel=1e-12)
    assert edited["phases_j"] == pytest.approx(sound["phases_j"], rel=1e-12)
    assert any("contradicted themselves" in note and TAMPERED in note for note in edited["notes"])
    # The edited file stays as found (a report never rewrites the evidence), so --verify still fails.
    pd.testing.assert_frame_equal(pd.read_parquet(summary_path(run_dir, "n0", "domains")), stored)
    assert verify(run_dir)[0] == 1


def test_a_sound_record_has_no_contradiction_note(tmp_path):
    run_dir = sound_record(tmp_path)
    assert not any("contradicted" in note for note in json_run(run_dir)["notes"])


def test_the_contradiction_is_warned_once_per_run_however_often_it_is_read(tmp_path, caplog):
    """A report reads the summaries more than once (run identity, then energy): one warning."""
    import logging

    run_dir = sound_record(tmp_path)
    edit_domains(run_dir, EDITS["energy_j"])
    with caplog.at_level(logging.WARNING):
        json_run(run_dir)
        json_run(run_dir)
    said = [r.getMessage() for r in caplog.records if "contradict themselves" in r.getMessage()]
    assert len(said) == 1 and str(run_dir) in said[0], said
