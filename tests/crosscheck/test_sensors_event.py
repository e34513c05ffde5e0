"""Issue 24: the telemetry's nodes and devices against each node's sensors event, and a node's
chunks against each other in time. Each edit below gave a wrong figure at exit 0 before
(relabelled node: 2x; sibling GCD: +25 %; device removed: -25 %; shifted copy: several x)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from olmo_green import record as rr
from olmo_green.record.events import SAMPLING_CLOSING
from olmo_green.reports import account_run
from tests.crosscheck.records import chunks, first_chunk, gpu_j, node_run, report, steady_run, verify


@pytest.fixture
def run(tmp_path):
    steady_run(tmp_path / "run", hardware="lumi", steps=8)
    return tmp_path / "run"


def _gpu(frame: pd.DataFrame, device: str) -> pd.Series:
    return (frame["device"].astype(str) == device) & (frame["domain"] == "gpu")


def _refused_naming(run, *words: str) -> None:
    code, out = report(run)
    assert code != 0 and "Traceback" not in out and len(out.strip().splitlines()) == 1, out
    assert all(w in out for w in words), out
    code, out = verify(run)
    assert code == 1 and all(w in out for w in words), out


def test_the_meter_records_which_devices_it_counts(run):
    sensors = [e for e in rr.read_events(run) if e["kind"] == rr.EVENT_SENSORS]
    assert sensors[0]["found"][0][rr.SENSORS_COUNTED] == ["gpu/0", "gpu/2", "gpu/4", "gpu/6"]
    assert verify(run)[0] == 0


def test_a_chunk_copied_as_another_node_with_its_node_column_rewritten_is_refused(run):
    path, samples = first_chunk(run)
    samples["node"] = "zz"
    samples.to_parquet(path.with_name("zz.000000.parquet"), index=False)
    _refused_naming(run, "zz", "no sensors event")


def test_a_sibling_gcd_written_with_its_package_energy_is_refused(run):
    path, samples = first_chunk(run)
    sibling = samples[_gpu(samples, "0")].assign(device="1")
    pd.concat([samples, sibling], ignore_index=True).sort_values("time_s", kind="stable") \
        .to_parquet(path, index=False)
    _refused_naming(run, "/1 (gpu)", "package")


def test_a_counted_device_whose_samples_were_removed_is_refused(run):
    path, samples = first_chunk(run)
    samples[~_gpu(samples, "6")].to_parquet(path, index=False)
    _refused_naming(run, "/6 (gpu)", "no sample of device 6")


def test_a_device_without_samples_is_not_refused_where_an_event_says_why(run):
    path, samples = first_chunk(run)
    samples[~_gpu(samples, "6")].to_parquet(path, index=False)
    node = samples["node"].iloc[0]
    with (run / rr.EVENTS_FILE).open("a") as out:
        rejected = {"node": node, "kind": rr.EVENT_REJECTED_SAMPLES, "counts": {"negative": 9}}
        out.write(json.dumps(rejected) + "\n")  # names no source: explains nothing
    assert report(run)[0] != 0
    with (run / rr.EVENTS_FILE).open("a") as out:
        out.write(json.dumps(rejected | {"source": "amdsmi"}) + "\n")  # another source's
    assert report(run)[0] != 0
    with (run / rr.EVENTS_FILE).open("a") as out:
        out.write(json.dumps(rejected | {"source": "simulated"}) + "\n")  # the device's own source
    assert report(run)[0] == 0


def test_a_record_without_counted_devices_is_not_judged(run):
    """Records written before the sensors event listed its devices (and before the meter marked
    its chunks) keep reporting as before."""
    _unmark_chunks(run)
    path, samples = first_chunk(run)
    samples[~_gpu(samples, "6")].to_parquet(path, index=False)
    _edit_counted(run, lambda found: found.pop(rr.SENSORS_COUNTED, None))
    assert report(run)[0] == 0


def test_honest_nodes_each_with_their_own_sensors_event_pass(tmp_path):
    for node in ("nid001", "nid002"):
        node_run(tmp_path / "run", node, steps=3)
    assert verify(tmp_path / "run")[0] == 0


def _shifted_copy(run) -> tuple[pd.DataFrame, float, str]:
    """The first chunk again as the node's next chunk, shifted half its span: (its samples, the
    span, the copy's file name)."""
    last = chunks(run)[-1]
    node, seq = last.name.split(".")[:2]
    samples = rr.read_sample_chunk(chunks(run)[0])[0]
    span_s = samples["time_s"].max() - samples["time_s"].min()
    name = f"{node}.{int(seq) + 1:06d}.parquet"
    samples.assign(time_s=samples["time_s"] + span_s / 2).to_parquet(last.with_name(name), index=False)
    return samples, span_s, name


def test_a_chunk_copied_shifted_half_its_span_counts_once(run):
    honest_j = gpu_j(run)
    samples, span_s, name = _shifted_copy(run)
    account = account_run(run)
    assert account.gpu_energy_j == pytest.approx(honest_j, rel=1e-9)
    assert any("overlap" in n and "counted once" in n for n in account.notes)
    code, out = verify(run)
    assert code == 1 and name.split(".parquet")[0] in out and "overlap" in out


def test_power_no_sensor_gives_is_dropped_and_the_counter_carries_the_device(run):
    """Device 0's power x10 (5 kW on a 560 W package) beside its intact counter: the counter check
    took power's side, ~3-10x the energy at exit 0. Power above 3x the package TDP is dropped at
    read, as the sampler drops it, and that device's power no longer repairs its counter."""
    honest_j = gpu_j(run)
    path, samples = first_chunk(run)
    samples.loc[_gpu(samples, "0"), "power_w"] *= 10.0
    samples.to_parquet(path, index=False)
    account = account_run(run)
    assert account.gpu_energy_j == pytest.approx(honest_j, rel=1e-6)
    assert any("above 3x the package TDP" in n for n in account.notes)
    code, out = verify(run)
    assert code == 1 and "above 3x the package TDP" in out and path.name in out


def test_a_device_relabelled_to_no_domain_is_refused(run):
    """A blank domain reads as an accelerator: a copy of device 0 as device 8 with no domain is
    not a device the meter counts."""
    path, samples = first_chunk(run)
    copy = samples[_gpu(samples, "0")].assign(device="8", domain=None)
    pd.concat([samples, copy], ignore_index=True).sort_values("time_s", kind="stable") \
        .to_parquet(path, index=False)
    _refused_naming(run, "/8", "does not count this device")


def _edit_events(run, edit) -> None:
    lines = (run / rr.EVENTS_FILE).read_text().splitlines()
    (run / rr.EVENTS_FILE).write_text("".join(json.dumps(edit(json.loads(x))) + "\n" for x in lines))


def _edit_counted(run, edit) -> None:
    events = [json.loads(line) for line in (run / rr.EVENTS_FILE).read_text().splitlines()]
    for event in events:
        for found in event.get("found", []):
            edit(found)
    (run / rr.EVENTS_FILE).write_text("".join(json.dumps(e) + "\n" for e in events))


def _unmark_chunks(run) -> None:
    """The chunks as an older meter wrote them: the same samples, without the format mark."""
    for path in chunks(run):
        samples = pd.read_parquet(path)
        samples.to_parquet(path, index=False)
        assert rr.chunk_format(path) == 1


def test_a_malformed_counted_list_of_an_unmarked_record_is_not_judged_and_raises_nothing(run):
    _unmark_chunks(run)
    _edit_counted(run, lambda found: found.__setitem__(rr.SENSORS_COUNTED, ["gpu0", None]))
    code, out = report(run)
    assert code == 0 and "Traceback" not in out


def test_the_meter_marks_its_chunks(run):
    """The mark, read with pyarrow (not our reader): what makes a lost sensors event visible."""
    import pyarrow.parquet as pq

    for path in chunks(run):
        assert pq.read_schema(path).metadata[b"olmo_green.chunk_format"] == b"2"


@pytest.mark.parametrize("edit", ["events-removed", "counted-removed", "counted-malformed"])
def test_sensors_events_lost_from_a_marked_record_are_refused(run, edit):
    """Before: deleting every sensors event (or the `counted` key) turned the node and device
    checks off, so a relabelled or removed device passed at exit 0."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = chunks(run)[0]
    table = pq.read_table(path)  # a device removed (-25 %), the file's metadata kept
    pq.write_table(table.filter(pc.invert(pc.equal(table["device"].cast("string"), "6"))), path)
    assert rr.chunk_format(path) == 2
    if edit == "events-removed":
        lines = (run / rr.EVENTS_FILE).read_text().splitlines()
        kept = [line for line in lines if json.loads(line).get("kind") != rr.EVENT_SENSORS]
        (run / rr.EVENTS_FILE).write_text("".join(line + "\n" for line in kept))
    elif edit == "counted-removed":
        _edit_counted(run, lambda found: found.pop(rr.SENSORS_COUNTED, None))
    else:
        _edit_counted(run, lambda found: found.__setitem__(rr.SENSORS_COUNTED, ["gpu0", None]))
    _refused_naming(run, "node vm", "sensors event", "removed or edited")


def test_power_above_the_limit_under_a_blank_domain_is_dropped(tmp_path):
    from olmo_green.summaries.build import summarise_chunk

    frame = pd.DataFrame({"time_s": [1.75e9, 1.75e9 + 1, 1.75e9 + 2], "node": "n", "device": "0",
                          "domain": [None, None, None], "power_w": [5000.0, 5000.0, 5000.0],
                          "energy_j": [0.0, 400.0, 800.0], "source": "amdsmi"})
    summary = summarise_chunk(frame, gpu_limit_w=1680.0)
    assert summary.implausible == 3
    assert summary.devices["energy_j"].sum() == pytest.approx(800.0)


def test_a_dropped_copy_stays_dropped_when_the_node_is_integrated_whole(run):
    """A shifted copy (left out) beside a chunk whose counter was blanked (the node's devices then
    mix counter and power chunks, so it is integrated whole): the copy must stay out there too."""
    honest = account_run(run)
    samples, span_s, name = _shifted_copy(run)
    blanked = samples.assign(time_s=samples["time_s"] + 2 * span_s + 1.0, energy_j=float("nan"))
    node, seq = name.split(".")[:2]
    blanked.to_parquet(run / "telemetry" / f"{node}.{int(seq) + 1:06d}.parquet", index=False)
    # the blanked chunk lies past the meter's close: as if killed, the end is not judged
    # (crosscheck/lifespan.py; a chunk past a close is refused, tests/crosscheck/test_lifespan.py)
    _edit_events(run, lambda e: {k: v for k, v in e.items() if k != SAMPLING_CLOSING})
    account = account_run(run)
    # the blanked chunk adds its own power-integrated energy; the shifted copy adds nothing
    assert account.gpu_energy_j < 2.2 * honest.gpu_energy_j
    assert any("overlap" in n for n in account.notes)
