"""A run directory's account: devices, nodes, phases, tokens, node line, gaps, counters."""

import numpy as np
import pandas as pd
import pytest

from olmo_green.accounts import account_trace
from olmo_green.reports import account_run
from tests.reports.traces import write_run


def test_run_energy_splits_into_phases_that_add_up(tmp_path):
    account = account_run(write_run(tmp_path / "run"))
    assert account.gpu_energy_j == pytest.approx(2 * 300.0 * 100.0)
    assert account.phases_j["train"] == pytest.approx(2 * 300.0 * 40.0)
    assert account.phases_j["eval"] == pytest.approx(2 * 300.0 * 10.0)
    assert sum(account.phases_j.values()) == pytest.approx(account.gpu_energy_j)
    assert account.method == "power_integration" and account.hardware == "mosaicml-a100"


def test_energy_per_token_uses_train_tokens(tmp_path):
    account = account_run(write_run(tmp_path / "run"))
    assert account.tokens == 4000
    assert account.energy_per_token_j == pytest.approx(60000.0 / 4000)
    assert account.kwh_per_billion_tokens == pytest.approx(60000.0 / 3.6e6 / 4000 * 1e9)


def test_node_energy_is_a_line_of_its_own_never_added(tmp_path):
    account = account_run(write_run(tmp_path / "run"))
    assert account.node_energy_j == pytest.approx(100_000.0)
    assert account.gpu_energy_j == pytest.approx(60_000.0)
    assert account.node_energy_by_node_j == {"n0": pytest.approx(60_000.0)}


def test_steps_table_gives_cumulative_emissions(tmp_path):
    account = account_run(write_run(tmp_path / "run"))
    last = account.steps.iloc[-1]
    expected_kg = 5 * 6000.0 / 3.6e6 * 1.1 * 0.656
    assert last["cumulative_emissions_kg"] == pytest.approx(expected_kg)


def test_gap_events_are_counted_closed_and_open(tmp_path):
    account = account_run(write_run(tmp_path / "run"))
    assert account.gaps.events == 2 and account.gaps.event_s == 3.5


def test_overlapping_step_windows_are_counted_once(tmp_path):
    run = write_run(tmp_path / "run")
    steps = pd.read_csv(run / "steps.csv")
    redone = steps.iloc[[1]].assign(time_start_s=steps["time_start_s"].iloc[1] + 5.0,
                                    time_end_s=steps["time_end_s"].iloc[1] + 5.0)
    pd.concat([steps, redone]).to_csv(run / "steps.csv", index=False)
    account = account_run(run)
    assert sum(account.phases_j.values()) == pytest.approx(account.gpu_energy_j)
    assert account.phases_j["outside"] >= 0.0
    assert any("overlapped" in note for note in account.notes)


def test_counter_reset_in_a_trace_keeps_energy_before_it(tmp_path):
    path = tmp_path / "reset.csv"
    pd.DataFrame({"time_s": 1.7e9 + np.array([0.0, 1.0, 2.0, 3.0, 4.0]), "device": "0",
                  "energy_j": [100.0, 200.0, 300.0, 50.0, 150.0]}).to_csv(path, index=False)
    account = account_trace(path, intensity_kg_per_kwh=0.5)
    assert account.gpu_energy_j == pytest.approx(100 + 100 + 50 + 100)
    assert account.devices[0].resets == 1 and account.method == "replayed"
    assert any("reset" in note for note in account.notes)


def test_power_gap_in_a_trace_is_bounded_not_invented(tmp_path):
    path = tmp_path / "gap.csv"
    time_s = 1.7e9 + np.r_[np.arange(0.0, 10.0), np.arange(100.0, 110.0)]
    pd.DataFrame({"time_s": time_s, "device": "0", "power_w": 200.0}).to_csv(path, index=False)
    account = account_trace(path, intensity_kg_per_kwh=0.5)
    assert account.gpu_energy_j == pytest.approx(18 * 200.0)
    assert account.gaps.count == 1 and account.gaps.seconds == pytest.approx(91.0)
    low, high = account.energy_band_mwh
    assert high * 3.6e9 >= account.gpu_energy_j + 91.0 * 200.0


def test_nodes_are_read_one_by_one_from_chunks_and_open_files(tmp_path):
    run = write_run(tmp_path / "run", node_domain=False)
    telemetry = run / "telemetry"
    second = pd.read_csv(telemetry / "n0.open.csv").assign(node="n1.cluster")
    second.iloc[:50].to_parquet(telemetry / "n1.cluster.000000.parquet")
    second.iloc[50:].to_csv(telemetry / "n1.cluster.open.csv", index=False)
    account = account_run(run)
    assert account.node_energy_by_node_j == {"n0": pytest.approx(60_000.0),
                                             "n1.cluster": pytest.approx(60_000.0)}


def test_mi250x_dies_that_both_report_the_package_are_flagged(tmp_path):
    run = write_run(tmp_path / "run", hardware="lumi", node_domain=False)
    frame = pd.read_csv(run / "telemetry" / "n0.open.csv")
    many = pd.concat([frame.assign(device=str(d)) for d in range(8)])
    many.to_csv(run / "telemetry" / "n0.open.csv", index=False)
    notes = account_run(run).notes
    assert any("counted twice" in n for n in notes)


def test_mi250x_with_one_reporting_die_per_package_is_counted_once(tmp_path):
    notes = account_run(write_run(tmp_path / "run", hardware="lumi", node_domain=False)).notes
    assert any("each counted once" in n for n in notes)


def test_report_files_are_written_into_the_run(tmp_path):
    import json

    from olmo_green.reports import write_report_files

    run = write_run(tmp_path / "run")
    md, js = write_report_files(run)
    assert md.read_text().startswith("# Energy and emissions")
    assert json.loads(js.read_text())["runs"][0]["hardware"] == "mosaicml-a100"


def test_the_profile_saved_in_the_run_is_used_with_its_sources(tmp_path):
    run = write_run(tmp_path / "run")
    (run / "config.yaml").write_text(
        "hardware: no-longer-a-profile\nresolved_hardware:\n  name: site\n  gpu_type: X100 (Site)\n"
        "  accelerator: X100\n  vendor: nvidia\n  devices_per_node: 2\n  devices_per_package: 1\n"
        "  package_tdp_w: 300\n  package_idle_w: 30\n  pue: 1.25\n  intensity_location_kg_per_kwh: 0.2\n"
        "  intensity_market_kg_per_kwh: null\n  sources:\n    pue: site energy report 2024\n")
    account = account_run(run)
    assert account.gpu_type == "X100 (Site)" and account.pue == 1.25
    assert account.pue_source == "site energy report 2024"
    assert account.emissions_tco2eq == pytest.approx(60_000.0 / 3.6e9 * 1.25 * 0.2)
