"""Chunk summaries: reports read them, and they give what integrating every raw sample gives."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from olmo_green import record as rr
from olmo_green.cli import cli
from olmo_green.record.summaries import summary_path
from olmo_green.reports import account_run
from olmo_green.reports.energy import run_energy
from olmo_green.traces.samples import trace_energy
from tests.cli_checks import simulated_train

T0_S = 1.7e9


def samples(start_s: float, count: int, *, device: str = "0", domain: str = "gpu",
            power_w: float | None = 300.0, counter_start_j: float | None = None, node: str = "n0",
            period_s: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """`count` samples of one device from `start_s`: noisy power and/or a counter."""
    rng = np.random.default_rng(seed)
    time_s = start_s + np.arange(count) * period_s
    power = (power_w or 300.0) * (0.9 + 0.2 * rng.random(count))
    energy = np.nan if counter_start_j is None else counter_start_j + np.cumsum(power) * period_s
    return pd.DataFrame({"time_s": time_s, "node": node, "device": device, "domain": domain,
                         "power_w": power if power_w is not None else np.nan, "energy_j": energy,
                         "source": "nvml" if counter_start_j is None else "amdsmi"})


def write_record(run_dir, chunks: list[pd.DataFrame], node: str = "n0", last_as_csv: bool = False):
    """A run record in the documented format: config.yaml and telemetry/<node>.<seq>.parquet."""
    folder = rr.telemetry_dir(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text("hardware: mosaicml-a100\ntelemetry: {sampling_interval_s: 1.0}\n")
    for seq, frame in enumerate(chunks):
        if last_as_csv and seq == len(chunks) - 1:
            frame.to_csv(rr.closed_csv_path(run_dir, node, seq), index=False)
        else:
            frame.to_parquet(rr.chunk_path(run_dir, node, seq), index=False)
    return run_dir


def whole_total_j(chunks: list[pd.DataFrame]) -> float:
    """The ground truth: every sample integrated at once, as a trace is."""
    return sum(c.total_j for c in trace_energy(pd.concat(chunks, ignore_index=True)).devices
               if c.domain == "gpu")


def gpu_total_j(run_dir) -> float:
    return account_run(run_dir).gpu_energy_j


@pytest.mark.parametrize("counter", [False, True], ids=["power", "counter"])
def test_chunked_energy_equals_the_whole_integration_seams_counted_once(tmp_path, counter):
    chunks = [samples(T0_S + 100 * k, 100, seed=k) for k in range(5)]
    if counter:  # one counter across the chunks, as a device keeps it
        joined = samples(T0_S, 500, counter_start_j=1e6)
        chunks = [joined.iloc[100 * k: 100 * (k + 1)] for k in range(5)]
    run_dir = write_record(tmp_path / "run", chunks)
    assert gpu_total_j(run_dir) == pytest.approx(whole_total_j(chunks), rel=1e-12)
    # The seam (last sample of one chunk to the first of the next) is in the total exactly once:
    one_chunk = write_record(tmp_path / "one", [pd.concat(chunks)])
    assert gpu_total_j(run_dir) == pytest.approx(gpu_total_j(one_chunk), rel=1e-12)


def test_a_counter_reset_at_a_chunk_boundary_is_counted_as_a_reset(tmp_path):
    first = samples(T0_S, 100, counter_start_j=5e6)
    second = samples(T0_S + 100, 100, counter_start_j=0.0, seed=1)  # the counter restarted
    run_dir = write_record(tmp_path / "run", [first, second])
    device = run_energy(run_dir).devices[0]
    assert device.resets == 1
    assert device.total_j == pytest.approx(whole_total_j([first, second]), rel=1e-12)
    assert 0 < device.total_j < 2 * 100 * 330.0  # never the drop of 5 MJ, never a negative


def test_a_gap_across_a_seam_is_a_gap_not_energy(tmp_path):
    first = samples(T0_S, 100)
    second = samples(T0_S + 1000, 100, seed=1)  # 900 s without samples between chunks
    run_dir = write_record(tmp_path / "run", [first, second])
    device = run_energy(run_dir).devices[0]
    assert device.gaps == 1 and device.gap_s == pytest.approx(901.0)
    assert device.total_j == pytest.approx(whole_total_j([first, second]), rel=1e-12)


def test_hour_and_bucket_edges_are_exact(tmp_path):
    chunks = [samples(T0_S + 7 + 600 * k, 600, seed=k) for k in range(3)]
    run_dir = write_record(tmp_path / "run", chunks)
    whole = trace_energy(pd.concat(chunks, ignore_index=True)).timeline()[0]
    edges = np.array([T0_S + 10.0 * k for k in range(2, 170, 7)])
    summed = sum(c.energy_between_j(edges[:-1], edges[1:]) for c in run_energy(run_dir).timeline())
    assert np.allclose(summed, whole.energy_between_j(edges[:-1], edges[1:]), rtol=1e-9)


def test_summaries_are_saved_and_a_second_report_reads_them(tmp_path):
    chunks = [samples(T0_S + 100 * k, 100, seed=k) for k in range(3)]
    run_dir = write_record(tmp_path / "run", chunks)
    first = gpu_total_j(run_dir)
    saved = summary_path(run_dir, "n0", "devices")
    assert saved.exists()
    mtime = saved.stat().st_mtime_ns
    assert gpu_total_j(run_dir) == first
    assert saved.stat().st_mtime_ns == mtime  # nothing rebuilt, nothing rewritten


def test_a_changed_chunk_is_summarised_again_never_stale(tmp_path):
    chunks = [samples(T0_S + 100 * k, 100, seed=k) for k in range(3)]
    run_dir = write_record(tmp_path / "run", chunks)
    before = gpu_total_j(run_dir)
    doubled = chunks[1].assign(power_w=chunks[1]["power_w"] * 2)
    doubled.to_parquet(rr.chunk_path(run_dir, "n0", 1), index=False)
    after = gpu_total_j(run_dir)
    assert after == pytest.approx(whole_total_j([chunks[0], doubled, chunks[2]]), rel=1e-12)
    assert after > before * 1.2


@pytest.mark.parametrize("damage", ["garbage", "empty", "truncated"])
def test_a_corrupt_summary_is_rebuilt_and_the_report_goes_on(tmp_path, damage, caplog):
    chunks = [samples(T0_S + 100 * k, 100, seed=k) for k in range(3)]
    run_dir = write_record(tmp_path / "run", chunks)
    truth = gpu_total_j(run_dir)
    path = summary_path(run_dir, "n0", "devices")
    data = path.read_bytes()
    damaged = {"garbage": os.urandom(len(data)), "empty": b"", "truncated": data[: len(data) // 2]}
    path.write_bytes(damaged[damage])
    assert gpu_total_j(run_dir) == pytest.approx(truth, rel=1e-12)
    assert "unreadable; rebuilding" in caplog.text


def test_a_summary_row_set_cut_short_is_not_trusted(tmp_path):
    chunks = [samples(T0_S + 100 * k, 100, seed=k) for k in range(2)]
    run_dir = write_record(tmp_path / "run", chunks)
    truth = gpu_total_j(run_dir)
    domains = summary_path(run_dir, "n0", "domains")
    frame = pd.read_parquet(domains)
    frame.iloc[: len(frame) // 2].to_parquet(domains, index=False)  # a save that stopped half way
    assert gpu_total_j(run_dir) == pytest.approx(truth, rel=1e-12)
    assert len(pd.read_parquet(domains)) == len(frame)  # rebuilt and saved whole


def test_a_closed_csv_chunk_left_by_a_kill_is_read(tmp_path):
    chunks = [samples(T0_S + 100 * k, 100, seed=k) for k in range(3)]
    run_dir = write_record(tmp_path / "run", chunks, last_as_csv=True)
    assert rr.closed_csv_path(run_dir, "n0", 2).exists()
    assert gpu_total_j(run_dir) == pytest.approx(whole_total_j(chunks), rel=1e-12)


def test_the_open_chunk_is_read(tmp_path):
    chunks = [samples(T0_S + 100 * k, 100, seed=k) for k in range(2)]
    run_dir = write_record(tmp_path / "run", chunks[:1])
    chunks[1].to_csv(rr.open_chunk_path(run_dir, "n0"), index=False)
    assert gpu_total_j(run_dir) == pytest.approx(whole_total_j(chunks), rel=1e-12)


def test_a_read_only_record_still_reports_building_summaries_in_memory(tmp_path):
    chunks = [samples(T0_S + 100 * k, 100, seed=k) for k in range(3)]
    run_dir = write_record(tmp_path / "run", chunks)
    folder = rr.telemetry_dir(run_dir)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root): read-only cannot be simulated")
        assert gpu_total_j(run_dir) == pytest.approx(whole_total_j(chunks), rel=1e-12)
        assert not summary_path(run_dir, "n0", "devices").exists()
    finally:
        folder.chmod(stat.S_IRWXU)


def test_a_read_only_record_as_root_reports_without_saving(tmp_path, monkeypatch):
    """Root writes through chmod: a failing save (what a read-only mount gives) is simulated."""
    from olmo_green.record import summaries as files

    def refuse(*_a, **_k):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(files, "_write_atomic", refuse)
    chunks = [samples(T0_S + 100 * k, 100, seed=k) for k in range(3)]
    run_dir = write_record(tmp_path / "run", chunks)
    assert gpu_total_j(run_dir) == pytest.approx(whole_total_j(chunks), rel=1e-12)
    assert not summary_path(run_dir, "n0", "devices").exists()


def test_an_unreadable_chunk_is_named_and_the_node_marked_incomplete(tmp_path):
    chunks = [samples(T0_S + 100 * k, 100, seed=k) for k in range(3)]
    run_dir = write_record(tmp_path / "run", chunks)
    rr.chunk_path(run_dir, "n0", 1).write_bytes(b"PAR1 not really parquet")
    account = account_run(run_dir)
    assert account.method.endswith("(incomplete)")
    assert any("n0.000001.parquet" in note and "incomplete" in note for note in account.notes)
    assert account.gpu_energy_j == pytest.approx(whole_total_j([chunks[0], chunks[2]]), rel=1e-9)
    assert account.gaps.count >= 1  # the missing stretch is a gap, inside the error band


def test_verify_passes_a_sound_record_and_names_a_tampered_summary(tmp_path):
    chunks = [samples(T0_S + 100 * k, 100, seed=k) for k in range(4)]
    run_dir = write_record(tmp_path / "run", chunks)
    runner = CliRunner()
    assert runner.invoke(cli, ["report", str(run_dir)]).exit_code == 0  # saves the summaries
    ok = runner.invoke(cli, ["report", str(run_dir), "--verify"])
    assert ok.exit_code == 0, ok.output
    assert "all within 0.01 %" in ok.output and "summarised now" not in ok.output
    path = summary_path(run_dir, "n0", "devices")
    frame = pd.read_parquet(path)
    frame.loc[frame["chunk"] == "n0.000002.parquet", "energy_j"] *= 1.5
    frame.to_parquet(path, index=False)
    bad = runner.invoke(cli, ["report", str(run_dir), "--verify"])
    assert bad.exit_code == 1
    assert "n0/0 (gpu): summaries" in bad.output and "apart" in bad.output


def test_verify_nodes_restricts_the_scan(tmp_path):
    run_dir = tmp_path / "run"
    for node in ("nid001", "nid002", "gpu-a"):
        write_record(run_dir, [samples(T0_S, 50, node=node)], node=node)
    result = CliRunner().invoke(cli, ["report", str(run_dir), "--verify", "--nodes", "nid*"])
    assert result.exit_code == 0, result.output
    assert "on 2 node(s)" in result.output
    missing = CliRunner().invoke(cli, ["report", str(run_dir), "--verify", "--nodes", "zzz*"])
    assert missing.exit_code == 2 and "matches none" in missing.output


def test_verify_refuses_a_trace(tmp_path):
    result = CliRunner().invoke(cli, ["report", "--trace", str(tmp_path / "t.csv"), "--verify"])
    assert result.exit_code == 2 and "--verify checks run directories" in result.output


def test_a_simulated_training_run_writes_summaries_as_it_goes(tmp_path):
    run_dir = tmp_path / "run"
    simulated_train(run_dir, "h100", 3, "model.sequence_length=16", "eval_interval=100")
    node = rr.node_names(run_dir)[0]
    assert summary_path(run_dir, node, "devices").exists()  # written by the node's writer at close
    verified = CliRunner().invoke(cli, ["report", str(run_dir), "--verify"])
    assert verified.exit_code == 0, verified.output


def test_a_long_record_is_held_coarser_with_exact_totals_and_fine_job_power(tmp_path):
    run_dir = tmp_path / "run"
    for node in ("n0", "n1"):  # two nodes, 2 h of samples each, in 4 chunks
        chunks = [samples(T0_S + 1800 * k, 1800, node=node, seed=k) for k in range(4)]
        write_record(run_dir, chunks, node=node)
    fine = run_energy(run_dir)
    held = run_energy(run_dir, held_steps=200)  # 100 steps a node: 7,200 s at 120 s
    assert held.nodes[0].bucket_s == 120.0 and fine.nodes[0].bucket_s == 10.0
    assert len(held.timeline()[0].time_s) < len(fine.timeline()[0].time_s) / 10
    assert sum(c.total_j for c in held.devices) == sum(c.total_j for c in fine.devices)  # totals exact
    hour_s = np.ceil(T0_S / 3600.0) * 3600.0  # held-step and hour edges (epoch-aligned) stay exact
    edges = hour_s + np.array([-2400.0, -1200.0, 0.0, 3600.0])
    for a, b in zip(held.timeline(), fine.timeline(), strict=True):
        held_j = a.energy_between_j(edges[:-1], edges[1:])
        assert np.allclose(held_j, b.energy_between_j(edges[:-1], edges[1:]), rtol=1e-12)
    # The job's power keeps the summaries' 10 s buckets, summed over both nodes.
    job_held, job_fine = held.job_power(), fine.job_power()
    assert (job_held["bucket_s"] == 10.0).all()
    pd.testing.assert_frame_equal(job_held.reset_index(drop=True), job_fine.reset_index(drop=True))
    assert job_fine["nodes"].max() == 2


def test_sample_times_in_milliseconds_are_dropped_and_counted_never_integrated(tmp_path):
    good = samples(T0_S, 100)
    millis = samples(T0_S + 100, 100, seed=1).assign(time_s=lambda f: f["time_s"] * 1000.0)
    run_dir = write_record(tmp_path / "run", [good, millis])
    account = account_run(run_dir)
    assert account.gpu_energy_j == pytest.approx(whole_total_j([good]), rel=1e-12)  # not 1000x
    assert any("100 unreadable sample row(s)" in note and "UNIX seconds" in note for note in account.notes)


def test_a_reading_no_device_can_give_and_device_less_rows_are_dropped_and_counted(tmp_path):
    good = samples(T0_S, 100)
    spiked = samples(T0_S + 100, 100, seed=1)
    spiked.loc[10, "power_w"] = 1e9  # a sensor glitch: 1 GW
    spiked.loc[[20, 21], "device"] = ""  # rows of no device would merge devices into one curve
    run_dir = write_record(tmp_path / "run", [good, spiked])
    account = account_run(run_dir)
    clean = spiked.drop(index=[10, 20, 21])
    assert account.gpu_energy_j == pytest.approx(whole_total_j([good, clean]), rel=1e-9)
    assert account.gpu_energy_j < 2 * 200 * 330.0  # nowhere near the 1 GW row
    assert any("3 unreadable sample row(s)" in note for note in account.notes)


@pytest.mark.parametrize("drop", [["device"], ["power_w", "energy_j"]], ids=["no-device", "no-reading"])
def test_a_chunk_without_a_needed_column_is_unreadable_and_named(tmp_path, drop):
    good = samples(T0_S, 100)
    broken = samples(T0_S + 100, 100, seed=1).drop(columns=drop)
    run_dir = write_record(tmp_path / "run", [good, broken])
    account = account_run(run_dir)
    assert account.method.endswith("(incomplete)")
    assert any("n0.000001.parquet" in note and "column" in note for note in account.notes)
    assert account.gpu_energy_j == pytest.approx(whole_total_j([good]), rel=1e-9)


def test_a_counter_stepping_back_a_little_is_not_a_reset_of_megajoules(tmp_path):
    chunk = samples(T0_S, 100, counter_start_j=2e6)
    chunk.loc[50:, "energy_j"] -= 500.0  # the counter steps back 500 J once (a driver bug), then counts on
    run_dir = write_record(tmp_path / "run", [chunk])
    device = run_energy(run_dir).devices[0]
    assert device.resets == 0
    deltas = np.diff(chunk["energy_j"].to_numpy())
    expected = deltas[deltas > 0].sum()  # the interval that stepped back counts nothing
    assert device.total_j == pytest.approx(expected, rel=1e-9)
    assert device.total_j < 100 * 400.0  # never the 2 MJ reading counted as energy since a restart


def test_a_checkpoint_write_event_with_a_garbage_duration_is_skipped_and_counted(tmp_path):
    run_dir = write_record(tmp_path / "run", [samples(T0_S, 10)])
    lines = [{"kind": "checkpoint_write", "step": 2, "duration_s": 1.5},
             {"kind": "checkpoint_write", "step": 4, "duration_s": "fast"},
             {"kind": "checkpoint_write", "step": 6, "duration_s": -3.0}]
    (run_dir / rr.EVENTS_FILE).write_text("".join(json.dumps(e) + "\n" for e in lines))
    events = rr.read_events(run_dir)
    assert [e["step"] for e in events] == [2] and events.skipped == 2


def test_csv_reports_carry_tokens_per_kwh_and_mfu_columns(tmp_path):
    from olmo_green.reports.formats import to_csv

    header = to_csv([account_run(write_record(tmp_path / "run", [samples(T0_S, 10)]))]).splitlines()[0]
    assert header.split(",")[-2:] == ["tokens_per_kwh", "mfu"]


def test_a_chunk_copied_under_a_second_number_is_not_counted_twice(tmp_path):
    chunks = [samples(T0_S + 100 * k, 100, seed=k) for k in range(3)]
    run_dir = write_record(tmp_path / "run", chunks + [chunks[1]])  # a restored copy of chunk 1 as chunk 3
    assert gpu_total_j(run_dir) == pytest.approx(whole_total_j(chunks), rel=1e-12)
