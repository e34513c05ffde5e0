"""SIGKILL mid-run, then resume: the record continues, nothing flushed is lost, the gap shows."""

import signal
import subprocess
import sys
import time

from olmo_green import record as rr
from olmo_green.integrate import curves_from_samples

ROOT = __file__.rsplit("/tests/", 1)[0]


def _worker(run_dir, max_steps):
    return subprocess.Popen([sys.executable, "-m", "tests.telemetry.worker", str(run_dir), str(max_steps)],
                            cwd=ROOT)


def _train_rows(run_dir) -> int:
    steps = rr.read_steps(run_dir)
    return int((steps["phase"] == "train").sum()) if len(steps) else 0


def _wait_for(condition, timeout_s=600.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "worker made no progress"
        time.sleep(0.05)


def test_sigkill_then_resume_continues_the_record(tmp_path):
    proc = _worker(tmp_path, 1000)
    _wait_for(lambda: _train_rows(tmp_path) >= 8)
    before = rr.read_samples(tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert rr.open_chunk_path(tmp_path, rr.node_names(tmp_path)[0]).exists()  # killed mid-chunk

    assert _worker(tmp_path, 20).wait(timeout=600) == 0
    after = rr.read_samples(tmp_path)
    kept = after[after["time_s"] <= before["time_s"].max()]
    assert len(kept) == len(before)  # every flushed row survived the kill and the roll
    assert after["time_s"].max() > before["time_s"].max()
    gap = [e for e in rr.read_events(tmp_path) if e["kind"] == "resume_gap"]
    assert len(gap) == 1 and gap[0]["duration_s"] > 0
    assert all(c.resets >= 1 for c in curves_from_samples(after))  # the modelled counters restarted
    steps = rr.read_steps(tmp_path)
    assert set(steps.loc[steps["phase"] == "train", "step"]) == set(range(1, 21))


def test_sigterm_closes_the_record(tmp_path):
    proc = _worker(tmp_path, 1000)
    _wait_for(lambda: _train_rows(tmp_path) >= 3)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=300) == 128 + signal.SIGTERM  # the shell's code for "terminated"
    node = rr.node_names(tmp_path)[0]
    assert not rr.open_chunk_path(tmp_path, node).exists()  # rolled to Parquet on the way out
    assert rr.chunk_path(tmp_path, node, 0).exists()
