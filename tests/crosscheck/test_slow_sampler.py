"""A sampler slower than asked (a loaded host, slow sensor reads) is honest, not a tampered config:
the meter's `sampling` event says what it asked for and achieved, and the report judges gaps at the
achieved interval with a note; a config.yaml edited after such a run is still a finding."""

from __future__ import annotations

import json
import math
import time

import pytest

from olmo_green import record as rr
from olmo_green.record.events import EVENT_SAMPLING
from olmo_green.reports import account_run
from olmo_green.telemetry.meter import EnergyMeter
from olmo_green.telemetry.pace import IntervalTally
from olmo_green.telemetry.sources.base import DeviceInfo, Reading, Source
from tests.crosscheck.records import chunks, verify

POWER_W, READ_S, ASKED_S = 100.0, 0.04, 0.005


class SlowSource(Source):
    """One GPU at constant power with no counter, each read taking READ_S (amd-smi on 8 GCDs)."""

    name = "slow"

    def _open(self) -> list[DeviceInfo]:
        return [DeviceInfo("0", "gpu", "slow", "power_integration")]

    def _read(self, time_s: float) -> list[Reading]:
        time.sleep(READ_S)
        return [Reading(time_s, "0", "gpu", POWER_W, math.nan, self.name)]


def _slow_run(run_dir) -> None:
    with EnergyMeter(run_dir, "lumi", sources=[SlowSource()], sampling_interval_s=ASKED_S) as meter:
        for _ in range(4):
            time.sleep(0.25)
            meter.step(tokens=1000, loss=3.0)


def _copy(run_dir, to_dir) -> None:
    for path in run_dir.rglob("*"):
        if path.is_file():
            target = to_dir / path.relative_to(run_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())


def _sampling_events(run_dir) -> list[dict]:
    return [e for e in rr.read_events(run_dir) if e["kind"] == EVENT_SAMPLING]


def _span_s(run_dir) -> float:
    times = [t for path in chunks(run_dir) for t in rr.read_sample_chunk(path)[0]["time_s"]]
    return max(times) - min(times)


@pytest.fixture(scope="module")
def slow_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("slow") / "run"
    _slow_run(run_dir)
    return run_dir


def test_the_meter_records_what_it_asked_for_and_achieved(slow_run):
    event = _sampling_events(slow_run)[-1]
    assert event["requested_interval_s"] == ASKED_S
    assert event["achieved_interval_s"] >= READ_S * 0.95  # a round cannot be shorter than its read
    assert event["node"]


def test_the_live_step_energies_follow_the_pace_the_sampler_achieved(slow_run):
    """steps.csv's energies come from the meter's ledger: judged at the 5 ms asked for, every
    40 ms interval would be a gap and the train steps would hold almost nothing."""
    steps = rr.read_steps(slow_run)
    train = steps[steps["phase"] == "train"]
    seconds = float((train["time_end_s"] - train["time_start_s"]).sum())
    assert float(train["energy_j"].sum()) == pytest.approx(POWER_W * seconds, rel=0.1)


def test_an_honest_slow_sampler_passes_verify_with_a_note_and_its_energy(slow_run):
    code, out = verify(slow_run)
    assert code == 0, out
    account = account_run(slow_run)
    assert not [n for n in account.notes if n.startswith("Cross-check")]
    assert [n for n in account.notes if n.startswith("Sampling: asked for 0.005 s")]
    # Judged at 5 ms every 40 ms interval would be a gap and the energy about 0 J.
    assert account.gpu_energy_j == pytest.approx(POWER_W * _span_s(slow_run), rel=0.02)


def test_a_config_edited_after_a_slow_run_is_still_a_finding(slow_run, tmp_path):
    run_dir = tmp_path / "run"
    _copy(slow_run, run_dir)
    honest_j = account_run(slow_run).gpu_energy_j
    config = (run_dir / "config.yaml").read_text()
    assert "sampling_interval_s: 0.005" in config
    slower = config.replace("sampling_interval_s: 0.005", "sampling_interval_s: 0.5")
    (run_dir / "config.yaml").write_text(slower)
    code, out = verify(run_dir)
    assert code == 1 and "changed after the run" in out
    assert account_run(run_dir).gpu_energy_j == pytest.approx(honest_j, rel=1e-6)


def test_config_and_event_edited_together_are_beyond_the_check_but_keep_the_energy(slow_run, tmp_path):
    """docs/record.md: indistinguishable from a slow sampler (a note, no finding); the energy stays right."""
    run_dir = tmp_path / "run"
    _copy(slow_run, run_dir)
    honest_j = account_run(slow_run).gpu_energy_j
    for name in ("config.yaml", rr.EVENTS_FILE):
        text = (run_dir / name).read_text()
        edited = text.replace("sampling_interval_s: 0.005", "sampling_interval_s: 0.001")
        edited = edited.replace('"requested_interval_s": 0.005', '"requested_interval_s": 0.001')
        assert edited != text
        (run_dir / name).write_text(edited)
    assert verify(run_dir)[0] == 0
    account = account_run(run_dir)
    assert [n for n in account.notes if n.startswith("Sampling: asked for 0.001 s")]
    assert account.gpu_energy_j == pytest.approx(honest_j, rel=1e-6)


def test_without_the_event_the_chunks_decide_as_before(slow_run, tmp_path):
    """An older record (or another writer's) has no `sampling` event: the slow chunks contradict
    the config, as before."""
    run_dir = tmp_path / "run"
    _copy(slow_run, run_dir)
    events = (run_dir / rr.EVENTS_FILE).read_text().splitlines()
    kept = [line for line in events if json.loads(line)["kind"] != EVENT_SAMPLING]
    assert len(kept) < len(events)
    (run_dir / rr.EVENTS_FILE).write_text("".join(line + "\n" for line in kept))
    code, out = verify(run_dir)
    assert code == 1 and "sampling_interval_s" in out
    assert account_run(run_dir).gpu_energy_j == pytest.approx(POWER_W * _span_s(run_dir), rel=0.02)


def test_a_slow_sampler_says_so_at_a_flush_before_close(tmp_path):
    """A killed run keeps the event: it is written at the flush cadence, not only at close."""
    meter = EnergyMeter(tmp_path / "run", sources=[SlowSource()], sampling_interval_s=ASKED_S,
                        flush_interval_s=0.1).start()
    try:
        deadline = time.monotonic() + 30  # a hang guard only
        while not _sampling_events(tmp_path / "run") and time.monotonic() < deadline:
            time.sleep(0.05)
        early = _sampling_events(tmp_path / "run")
    finally:
        meter.close()
    assert len(early) == 1 and early[0]["achieved_interval_s"] > 5 * ASKED_S
    assert len(_sampling_events(tmp_path / "run")) == 2  # and once more at close


def test_a_fast_enough_sampler_writes_only_the_closing_event(tmp_path):
    with EnergyMeter(tmp_path / "run", sources=[SlowSource()], sampling_interval_s=1.0,
                     flush_interval_s=0.05) as meter:
        time.sleep(0.3)
        meter.step(tokens=1, loss=1.0)
    assert len(_sampling_events(tmp_path / "run")) == 1


def test_the_tally_median():
    tally = IntervalTally()
    assert tally.median_s() is None
    for time_s in [0.0, 0.01, 0.02, 0.03, 0.1, 0.2, 0.2, 0.15]:  # a repeat and a step back: no interval
        tally.add(time_s)
    assert tally.count == 5  # 0.01, 0.01, 0.01, 0.07, 0.1
    assert tally.median_s() == pytest.approx(0.01, rel=0.03)
