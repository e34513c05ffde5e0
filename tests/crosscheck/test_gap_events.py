"""events.jsonl's gap events against the samples (olmo_green/crosscheck/gaps.py): a gap_start/gap_end
over samples that never stopped is invented; a real gap (a hole in its source's samples) counts as it
always did."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from olmo_green.reports import account_run
from olmo_green.reports.build import record_findings
from olmo_green.reports.energy import run_energy
from tests.crosscheck.records import verify

T0 = 1.75e9
PERIOD_S = 0.1  # config.yaml's sampling interval: intervals over 0.5 s are gaps
SPAN_S = 60.0
GAP = (T0 + 30.0, T0 + 32.0)  # the gap events' span: 2 s, four times the gap limit


def _record(run: Path, hole: tuple[float, float] | None = None, events: list[dict] | None = None,
            chunks: int = 1, span_s: float = SPAN_S) -> Path:
    """Two nvml GPUs (power and counter) and a rapl CPU zone sampled every PERIOD_S; `hole`: the
    nvml samples in [start, end) left out (what a failed source leaves); `chunks`: files of equal
    time spans (two: the seam at GAP's start)."""
    (run / "telemetry").mkdir(parents=True)
    config = f"hardware: mosaicml-a100\ntelemetry:\n  sampling_interval_s: {PERIOD_S}\n"
    (run / "config.yaml").write_text(config)
    time_s = T0 + np.round(np.arange(0.0, span_s + PERIOD_S / 2, PERIOD_S), 6)
    frames = []
    for device, source, domain in (("0", "nvml", "gpu"), ("1", "nvml", "gpu"), ("package-0", "rapl", "cpu")):
        t = time_s
        if hole is not None and source == "nvml":
            t = t[(t < hole[0]) | (t >= hole[1])]
        power_w = 400.0 if domain == "gpu" else 100.0
        frames.append(pd.DataFrame({"time_s": t, "node": "n0", "device": device, "domain": domain,
                                    "power_w": power_w, "energy_j": power_w * (t - T0), "source": source}))
    samples = pd.concat(frames).sort_values("time_s", kind="stable").reset_index(drop=True)
    slot = np.minimum(((samples["time_s"] - T0) // (span_s / chunks)).astype(int), chunks - 1)
    for index in range(chunks):
        samples[slot == index].to_parquet(run / "telemetry" / f"n0.{index:06d}.parquet", index=False)
    lines = events if events is not None else []
    (run / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    return run


def contradicted_gaps(events: list[dict], nodes: list):
    # imported here: the report-level tests above and below run on code without the module too
    from olmo_green.crosscheck.gaps import contradicted_gaps as judged

    return judged(events, nodes)


def _gap(start_s: float, end_s: float, **fields) -> list[dict]:
    return [{"node": "n0", "kind": "gap_start", "time_s": start_s, "error": "lost", **fields},
            {"node": "n0", "kind": "gap_end", "time_s": end_s, "duration_s": end_s - start_s, **fields}]


def _gap_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if "gap_start/gap_end" in line]


def test_a_real_gap_counts_as_before(tmp_path):
    """The source's samples stop over the gap: the events stand, nothing is found."""
    events = _gap(*GAP, source="nvml")
    run = _record(tmp_path / "run", hole=GAP, events=events)
    account = account_run(run)
    assert (account.gaps.events, account.gaps.event_s) == (1, 2.0)
    assert account.gaps.count == 2  # one hole in each nvml GPU's samples
    assert not [n for n in account.notes if "gap_start" in n]
    assert not _gap_lines(record_findings(run))


def test_a_real_gap_at_a_chunk_seam_counts_as_before(tmp_path):
    """The hole between two chunks (the seam): the same."""
    run = _record(tmp_path / "run", hole=GAP, events=_gap(*GAP, source="nvml"), chunks=2)
    energy = run_energy(run, save=False)
    assert not contradicted_gaps(_gap(*GAP, source="nvml"), energy.nodes)
    assert account_run(run).gaps.events == 1


def test_an_invented_gap_is_not_counted_and_fails_verify(tmp_path):
    """The same events over samples that never stopped: the samples win, --verify names the event."""
    run = _record(tmp_path / "run", events=_gap(*GAP))
    account = account_run(run)
    assert (account.gaps.events, account.gaps.event_s, account.gaps.count) == (0, 0.0, 0)
    notes = [n for n in account.notes if "gap_start/gap_end" in n]
    assert len(notes) == 1 and "contradicted by the samples" in notes[0] and "not counted" in notes[0]
    code, output = verify(run)
    lines = _gap_lines(output.splitlines())
    assert code == 1 and len(lines) == 1
    assert "of n0 from 1750000030.000 to 1750000032.000" in lines[0]
    assert "continued at their normal spacing" in lines[0]


def test_an_invented_gap_of_a_named_source_and_across_chunks(tmp_path):
    run = _record(tmp_path / "run", events=_gap(*GAP, source="nvml"), chunks=3)
    found = contradicted_gaps(_gap(*GAP, source="nvml"), run_energy(run, save=False).nodes)
    assert len(found) == 1 and found[0].devices == 2  # the two nvml GPUs, not the rapl zone


def test_another_sources_gap_is_not_contradicted_by_the_gpus(tmp_path):
    """nvml failed (its GPUs have the hole) while rapl sampled on: an event naming nvml stands;
    one naming a source that has no samples cannot be judged."""
    run = _record(tmp_path / "run", hole=GAP)
    nodes = run_energy(run, save=False).nodes
    assert not contradicted_gaps(_gap(*GAP, source="nvml"), nodes)
    assert not contradicted_gaps(_gap(*GAP), nodes)  # no source named: the nvml GPUs have the hole
    assert not contradicted_gaps(_gap(*GAP, source="amdsmi"), nodes)
    assert len(contradicted_gaps(_gap(*GAP, source="rapl"), nodes)) == 1  # rapl never stopped


def test_a_gap_within_the_gap_limit_cannot_be_judged(tmp_path):
    """0.3 s over samples 0.1 s apart: no summary counts a hole that short, so the event stands."""
    events = _gap(T0 + 30.0, T0 + 30.3)
    run = _record(tmp_path / "run", events=events)
    assert not contradicted_gaps(events, run_energy(run, save=False).nodes)
    assert account_run(run).gaps.events == 1


def test_samples_inside_a_span_longer_than_the_record(tmp_path):
    """A 10 s gap claimed around a 2 s record: its samples lie inside the claimed gap."""
    events = _gap(T0 - 4.0, T0 + 6.0)
    run = _record(tmp_path / "run", events=events, span_s=2.0)
    found = contradicted_gaps(events, run_energy(run, save=False).nodes)
    assert len(found) == 1 and found[0].inside == 3


def test_a_lone_gap_end_is_judged_by_its_duration_and_an_open_gap_is_left_alone(tmp_path):
    run = _record(tmp_path / "run")
    nodes = run_energy(run, save=False).nodes
    lone_end = [{"node": "n0", "kind": "gap_end", "time_s": GAP[1], "duration_s": 2.0}]
    assert len(contradicted_gaps(lone_end, nodes)) == 1
    still_open = [{"node": "n0", "kind": "gap_start", "time_s": GAP[0], "error": "lost"}]
    assert not contradicted_gaps(still_open, nodes)  # a run that ended inside a gap: not judged here


def test_other_nodes_samples_say_nothing_of_a_nodes_gap(tmp_path):
    run = _record(tmp_path / "run")
    nodes = run_energy(run, save=False).nodes
    assert not contradicted_gaps([{**e, "node": "n1"} for e in _gap(*GAP)], nodes)
    assert len(contradicted_gaps([{k: v for k, v in e.items() if k != "node"} for e in _gap(*GAP)],
                                 nodes)) == 1  # no node named: every node's samples are asked


@pytest.mark.parametrize("hole", [None, GAP])
def test_stretches_merge_chunks_without_gaps(tmp_path, hole):
    run = _record(tmp_path / "run", hole=hole, chunks=4)
    stretches = run_energy(run, save=False).nodes[0].stretches
    rapl = stretches[stretches["source"] == "rapl"]
    assert len(rapl) == 1 and rapl["hole_s"].iloc[0] == 0.0  # four chunks, one stretch
    gpu = stretches[stretches["device"] == "0"]
    assert gpu["start_s"].iloc[0] == T0 and gpu["end_s"].iloc[-1] == pytest.approx(T0 + SPAN_S)
    assert gpu["hole_s"].sum() == (0.0 if hole is None else pytest.approx(2.1))
    from olmo_green.crosscheck.gaps import sample_stretches

    assert len(sample_stretches(pd.DataFrame())) == 0


def test_a_gap_left_open_by_an_earlier_attempt_is_not_paired_with_a_later_gap_end(tmp_path):
    """Attempt 1 ended inside a gap (gap_start, no gap_end); a later real gap of the same source:
    its gap_end pairs with its own gap_start, not the old one (whose span the samples ran through)."""
    stale = [{"node": "n0", "kind": "gap_start", "time_s": T0 + 5.0, "error": "lost", "source": "nvml"}]
    run = _record(tmp_path / "run", hole=GAP, events=stale + _gap(*GAP, source="nvml"))
    assert not _gap_lines(record_findings(run))
    assert account_run(run).gaps.events == 2  # the closed gap, and attempt 1's left open
