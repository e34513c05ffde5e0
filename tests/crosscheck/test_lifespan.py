"""Issue 24 (B4): a node's samples against when its meter ran. A chunk copied under a new name of
its node, its times shifted wholly past the run's last sample (or before its first) and its counter
continued, was counted as `outside` energy at exit 0; no meter of the node was sampling then."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from olmo_green import record as rr
from olmo_green.crosscheck.gaps import STRETCH_COLUMNS
from olmo_green.crosscheck.lifespan import idle_stretches, lifespan_findings
from olmo_green.record.events import EVENT_SAMPLING, SAMPLING_CLOSING
from tests.crosscheck.records import chunks, gpu_j, node_run, report, steady_run, verify

OUTSIDE_S = 5.0  # how far the copy lies outside the run: beyond the check's 2 s slack


@pytest.fixture
def run(tmp_path):
    steady_run(tmp_path / "run", hardware="lumi", steps=8)
    return tmp_path / "run"


def _events(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / rr.EVENTS_FILE).read_text().splitlines()]


def _write_events(run: Path, events: list[dict]) -> None:
    (run / rr.EVENTS_FILE).write_text("".join(json.dumps(e) + "\n" for e in events))


def _copy_outside(run: Path, after: bool) -> str:
    """The node's first chunk again as its next chunk, wholly after the record's last sample (or
    before its first) by OUTSIDE_S, each device's counter continuing smoothly across the join
    (before: the honest chunks' counters raised by the copy's). Returns the node."""
    listing = chunks(run)
    node, seq = listing[-1].name.split(".")[:2]
    copy = rr.read_sample_chunk(listing[0])[0]
    record = rr.read_samples(run)
    if after:
        copy["time_s"] += record["time_s"].max() + OUTSIDE_S - copy["time_s"].min()
        last_j = record.groupby("device")["energy_j"].max()
        copy["energy_j"] += copy["device"].map(last_j) - copy.groupby("device")["energy_j"].transform("min")
    else:
        copy["time_s"] -= copy["time_s"].max() + OUTSIDE_S - record["time_s"].min()
        raised = copy.groupby("device")["energy_j"].max()
        for path in listing:
            honest = rr.read_sample_chunk(path)[0]
            honest["energy_j"] += honest["device"].map(raised)
            honest.to_parquet(path, index=False)
    copy.to_parquet(listing[-1].with_name(f"{node}.{int(seq) + 1:06d}.parquet"), index=False)
    return node


def _refused_naming(run: Path, *words: str) -> None:
    code, out = report(run)
    assert code != 0 and "Traceback" not in out and len(out.strip().splitlines()) == 1, out
    assert all(w in out for w in words), out
    code, out = verify(run)
    assert code == 1 and all(w in out for w in words), out


def _clean(run: Path) -> None:
    code, out = report(run)
    assert code == 0 and "Traceback" not in out, out
    code, out = verify(run)
    assert code == 0, out


def test_the_meter_stamps_its_start_and_marks_its_close(run):
    samples = rr.read_samples(run)
    events = _events(run)
    sensors = [e for e in events if e["kind"] == rr.EVENT_SENSORS]
    closing = [e for e in events if e["kind"] == EVENT_SAMPLING and e.get(SAMPLING_CLOSING) is True]
    assert len(sensors) == 1 and sensors[0]["time_s"] <= samples["time_s"].min()
    assert len(closing) == 1 and closing[0]["time_s"] >= samples["time_s"].max()


def test_a_copy_shifted_after_the_run_is_refused(run):
    honest_j = gpu_j(run)
    node = _copy_outside(run, after=True)
    _refused_naming(run, f"telemetry/{node}.*", "after its meter closed")
    # what it gave before: more energy at exit 0 (the check's own finding taken away)
    events = [e for e in _events(run) if e["kind"] != EVENT_SAMPLING]
    _write_events(run, events)
    assert report(run)[0] == 0 and gpu_j(run) > 1.5 * honest_j


def test_a_copy_shifted_before_the_run_is_refused(run):
    node = _copy_outside(run, after=False)
    _refused_naming(run, f"telemetry/{node}.*", "before its meter started")


def test_a_copy_before_a_killed_run_is_still_refused(run):
    """A killed attempt (no closing event) is judged on the start side only."""
    _write_events(run, [e for e in _events(run) if e.get(SAMPLING_CLOSING) is not True])
    _clean(run)
    _copy_outside(run, after=False)
    _refused_naming(run, "before its meter started")


def test_an_honest_record_has_no_finding(run):
    _clean(run)


def test_a_resumed_record_has_no_finding(tmp_path):
    """Two attempts on one node, a pause between them longer than twice the slack: the pause holds
    no sample, and each attempt's samples lie inside its own lifespan."""
    run = tmp_path / "run"
    node_run(run, "nid001", steps=3)
    time.sleep(4.5)
    node_run(run, "nid001", steps=3)
    events = _events(run)
    assert [e["kind"] for e in events if e["kind"] == rr.EVENT_SENSORS] == ["sensors", "sensors"]
    between = [s for s in idle_stretches(events) if np.isfinite(s.start_s) and np.isfinite(s.end_s)]
    assert len(between) == 1 and between[0].end_s - between[0].start_s > 4.0
    _clean(run)


def test_a_killed_attempt_is_not_judged_on_its_end(run):
    _write_events(run, [e for e in _events(run) if e.get(SAMPLING_CLOSING) is not True])
    assert [s.start_s for s in idle_stretches(_events(run))] == [-np.inf]
    _clean(run)


def test_an_older_record_without_the_times_is_not_judged(run):
    events = _events(run)
    for event in events:
        if event["kind"] == rr.EVENT_SENSORS:
            event.pop("time_s")
        event.pop(SAMPLING_CLOSING, None)
    _write_events(run, events)
    assert idle_stretches(events) == []
    _clean(run)


@pytest.mark.parametrize("value", ["abc", None, "1e400", float("inf"), True])
def test_a_malformed_time_is_ignored_without_a_traceback(run, value):
    events = _events(run)
    for event in events:
        if event["kind"] in (rr.EVENT_SENSORS, EVENT_SAMPLING):
            event["time_s"] = value
    (run / rr.EVENTS_FILE).write_text("".join(json.dumps(e) + "\n" for e in events))  # inf as Infinity
    assert idle_stretches(rr.read_events(run)) == []
    _clean(run)


# -- the events and the stretches alone (no record): the rules the module docstring states ---------

def _node(name: str, *stretches: tuple[float, float, float, float]) -> SimpleNamespace:
    rows = pd.DataFrame([("0", "gpu", "simulated", *s) for s in stretches], columns=STRETCH_COLUMNS)
    return SimpleNamespace(node=name, stretches=rows, devices=[])


def _sensors(t: float | None, node: str = "n") -> dict:
    return {"node": node, "kind": rr.EVENT_SENSORS, "found": [], **({} if t is None else {"time_s": t})}


def _closing(t: float, node: str = "n") -> dict:
    return {"node": node, "kind": EVENT_SAMPLING, "time_s": t, SAMPLING_CLOSING: True}


T = 1.8e9


def test_samples_inside_a_pause_between_attempts_are_found():
    events = [_sensors(T), _closing(T + 100), _sensors(T + 200), _closing(T + 300)]
    honest = _node("n", (T + 1, T + 99, 0.0, 0.05), (T + 201, T + 299, 0.0, 0.05))
    assert lifespan_findings(events, [honest], 0.01) == []
    # one stretch across the pause with too few gap seconds: samples ran through it
    merged = _node("n", (T + 1, T + 299, 30.0, 0.05))
    assert "before the next started" in lifespan_findings(events, [merged], 0.01)[0]
    # the pause as a gap of the summaries: honest
    assert lifespan_findings(events, [_node("n", (T + 1, T + 299, 102.0, 0.05))], 0.01) == []


def test_only_what_the_events_support_is_judged():
    late = _node("n", (T + 1, T + 50, 0.0, 0.05), (T + 500, T + 600, 0.0, 0.05))
    # a closing event then another attempt's sampling event with no start between: not judged
    pace = {"node": "n", "kind": EVENT_SAMPLING, "time_s": T + 550}
    assert lifespan_findings([_sensors(T), _closing(T + 60), pace], [late], 0.01) == []
    # an untimed sensors event ends the stretch unknowably; a resume_gap names the next start
    assert lifespan_findings([_sensors(T), _closing(T + 60), _sensors(None)], [late], 0.01) == []
    resume = {"node": "n", "kind": rr.EVENT_RESUME_GAP, "time_s": T + 50, "duration_s": 450.0}
    assert lifespan_findings([_sensors(T), _closing(T + 60), resume], [late], 0.01) == []
    assert "none started again" in lifespan_findings([_sensors(T), _closing(T + 60)],
                                                                   [late], 0.01)[0]
    # a resume_gap saying the record held samples before the first sensors event: no start side
    early = _node("n", (T - 100, T - 50, 0.0, 0.05), (T + 1, T + 50, 0.0, 0.05))
    assert lifespan_findings([_sensors(T)], [early], 0.01)
    assert lifespan_findings([_sensors(T), resume | {"time_s": T - 50, "duration_s": 50.0}], [early],
                             0.01) == []
    # events without a node, and nodes without events, are not judged
    assert lifespan_findings([_sensors(T, node="")], [early], 0.01) == []
    assert lifespan_findings([_sensors(T, node="m")], [early], 0.01) == []


def test_a_clock_set_back_between_attempts_is_no_finding():
    """The second attempt's wall clock 150 s behind the first's: its samples fall in the first
    pause as the events see it; times that run backwards leave the pauses unjudged."""
    events = [_sensors(T), _closing(T + 100), _sensors(T + 200), _closing(T + 300),
              _sensors(T + 150), _closing(T + 250)]
    nodes = [_node("n", (T + 1, T + 99, 0.0, 0.05), (T + 201, T + 299, 0.0, 0.05),
                   (T + 151, T + 249, 0.0, 0.05))]
    assert lifespan_findings(events, nodes, 0.01) == []
    assert lifespan_findings(events, [_node("n", (T + 301, T + 320, 0.0, 0.05))], 0.01)


def test_many_nodes_cost_no_per_sample_work():
    nodes = [_node(f"n{i:03d}", *[(T + k * 10 + 1, T + k * 10 + 9, 0.0, 0.05) for k in range(100)])
             for i in range(256)]
    events = [e for i in range(256) for e in (_sensors(T, f"n{i:03d}"), _closing(T + 1000, f"n{i:03d}"))]
    started = time.perf_counter()
    assert lifespan_findings(events, nodes, 0.01) == []
    assert time.perf_counter() - started < 2.0


def test_a_chunk_copied_into_the_pause_after_a_kill_is_refused():
    """A killed attempt writes no closing event, but the next attempt's resume_gap names the pause:
    from the record's last sample to its own baseline. A copy placed there (its counter continued)
    counted at exit 0 before (9.2 kJ against 5.1 kJ)."""
    resume = {"node": "n", "kind": rr.EVENT_RESUME_GAP, "time_s": T + 50, "duration_s": 100.0}
    events = [_sensors(T), _sensors(T + 150), resume]
    honest = _node("n", (T + 1, T + 50, 0.0, 0.05), (T + 150, T + 200, 0.0, 0.05))
    assert lifespan_findings(events, [honest], 0.01) == []
    copied = _node("n", (T + 1, T + 50, 0.0, 0.05), (T + 60, T + 140, 0.0, 0.05),
                   (T + 150, T + 200, 0.0, 0.05))
    found = lifespan_findings(events, [copied], 0.01)
    assert len(found) == 1 and "node n" in found[0]
