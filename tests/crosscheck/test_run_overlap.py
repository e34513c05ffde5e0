"""Issue 24, finding 5 continued: a copied run cut short is still the same samples.

Whole-chunk hashes told a copy apart from its run once one chunk of the copy was cut to a
prefix (or a suffix, a slice, or re-sorted, or converted and cut): with its run_id removed,
`report run copy` counted 1.69x the energy at exit 0 and `--verify` said nothing. Runs are now
also compared in time: two inputs holding one device over the same time either share samples
(a copy: refused), or measured it twice (refused), or are two simulated runs on one machine
at once (both count)."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pandas as pd
import pytest
import yaml

from olmo_green import record as rr
from olmo_green.summaries.identity import distinct_runs
from olmo_green.summaries.overlap import SPAN_COLUMNS, _overlapping
from olmo_green.summaries.samedevice import one_device
from tests.crosscheck.records import chunks, report, steady_run, verify


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One simulated run, another after it, and two run in parallel on this machine."""
    root = tmp_path_factory.mktemp("overlap")
    for name in ("a", "b"):
        steady_run(root / name, hardware="lumi", steps=4)
    both = [threading.Thread(target=steady_run, args=(root / name,), kwargs={"hardware": "lumi", "steps": 4})
            for name in ("p", "q")]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join()
    return root


def _copy(runs, source: str, name: str, run_id: str | None = None):
    """A copy of `source` with its run_id removed (or set to `run_id`), and its one chunk."""
    copy = runs.parent / f"{runs.name}-{name}"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(runs / source, copy)
    data = yaml.safe_load((copy / "config.yaml").read_text())
    data.pop("run_id")
    if run_id is not None:
        data["run_id"] = run_id
    (copy / "config.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    (chunk,) = chunks(copy)
    return copy, chunk


def _rewrite(chunk, samples: pd.DataFrame, suffix: str = ".parquet") -> None:
    chunk.unlink()
    target = chunk.with_suffix(suffix)
    samples.to_parquet(target, index=False) if suffix == ".parquet" else samples.to_csv(target, index=False)


def _cut(samples: pd.DataFrame, how: str) -> pd.DataFrame:
    third = len(samples) // 3
    return {"prefix": samples.iloc[:2 * third], "suffix": samples.iloc[third:],
            "middle": samples.iloc[third:2 * third], "resorted": samples.iloc[::-1],
            "csv-prefix": samples.iloc[:2 * third], "one-device": samples[samples["device"] == "0"]}[how]


@pytest.mark.parametrize("how", ["prefix", "suffix", "middle", "resorted", "csv-prefix", "one-device"])
def test_a_copy_cut_or_resorted_is_refused_not_counted_twice(runs, how):
    copy, chunk = _copy(runs, "a", how)
    samples = rr.read_sample_chunk(chunk)[0]
    _rewrite(chunk, _cut(samples, how), ".csv" if how.startswith("csv") else ".parquet")
    for given in ((runs / "a", copy), (copy, runs / "a")):
        code, out = report(*given)
        assert code != 0 and "Traceback" not in out and len(out.strip().splitlines()) == 1, out
        assert "identical sample(s) of device 0 (gpu)" in out and "a copy" in out
        assert str(copy) in out and str(runs / "a") in out and " to 20" in out  # the time, in UTC
    code, out = verify(runs / "a", copy)
    assert code == 1 and "identical sample(s)" in out and str(copy) in out
    code, out = report(runs / "a", copy, "--by", "hardware")
    assert code != 0 and "identical sample(s)" in out


def test_samples_of_one_run_copied_into_a_later_run_are_refused(runs):
    """b's record with a's first samples appended: some samples of a copied, not a whole chunk."""
    grafted, chunk = _copy(runs, "b", "grafted", run_id="1" * 32)
    head = rr.read_sample_chunk(chunks(runs / "a")[0])[0].iloc[:20]
    _rewrite(chunk, pd.concat([head, rr.read_sample_chunk(chunk)[0]], ignore_index=True))
    code, out = report(runs / "a", grafted)
    assert code != 0 and "identical sample(s)" in out and len(out.strip().splitlines()) == 1


def _measured(samples: pd.DataFrame, shift_s: float = 0.0, offset_j: float = 0.0,
              counter: bool = True) -> pd.DataFrame:
    """The samples as a real sensor's (nvml), read `shift_s` later; `offset_j`: another GPU's
    counter under the same index."""
    out = samples.assign(source="nvml", time_s=samples["time_s"] + shift_s)
    out["energy_j"] = (out["energy_j"] + out["power_w"] * shift_s + offset_j) if counter else np.nan
    return out


@pytest.mark.parametrize("counter", [True, False])
def test_one_measured_device_in_two_runs_at_one_time_is_refused(runs, counter):
    """No sample alike (each read at other instants), but one device, one counter, one time."""
    first, one = _copy(runs, "a", f"nvml-one{counter}", run_id="2" * 32)
    second, two = _copy(runs, "a", f"nvml-two{counter}", run_id="3" * 32)
    samples = rr.read_sample_chunk(one)[0]
    _rewrite(one, _measured(samples, counter=counter))
    _rewrite(two, _measured(samples, 0.004, counter=counter))
    code, out = report(first, second)
    assert code != 0 and len(out.strip().splitlines()) == 1, out
    assert "both measured device 0 (gpu)" in out and "nvml" in out and "count twice" in out
    assert "identical" not in out
    code, out = verify(first, second)
    assert code == 1 and "both measured" in out


def test_two_gpus_named_alike_by_two_jobs_on_one_node_both_count(runs):
    """nvml names a GPU by its index among the job's visible ones: two jobs sharing a node each
    hold a "0". Their counters (far apart, each climbing) say two devices: both count."""
    first, one = _copy(runs, "a", "gpu-one", run_id="4" * 32)
    second, two = _copy(runs, "a", "gpu-two", run_id="5" * 32)
    samples = rr.read_sample_chunk(one)[0]
    _rewrite(one, _measured(samples, offset_j=3.0e8))
    _rewrite(two, _measured(samples, 0.004, offset_j=1.2e8))
    code, out = report(first, second)
    assert code == 0, out
    kept, lines = distinct_runs([first, second])
    assert kept == [first, second] and lines == []


def test_two_simulated_runs_at_once_on_one_machine_both_count(runs):
    """Two `train --simulate` in parallel on a laptop: one hostname, one time, other samples."""
    spans = [rr.read_sample_chunk(chunks(runs / name)[0])[0]["time_s"] for name in ("p", "q")]
    assert spans[0].min() < spans[1].max() and spans[1].min() < spans[0].max()  # they did overlap
    kept, lines = distinct_runs([runs / "p", runs / "q"])
    assert kept == [runs / "p", runs / "q"] and lines == []
    code, out = verify(runs / "p", runs / "q")
    assert code == 0, out


def test_runs_at_different_times_read_no_chunk(runs, monkeypatch):
    """The honest case costs the comparison of spans only: no sample is read."""
    def refuse(*args):
        raise AssertionError("a chunk was read")
    distinct_runs([runs / "a", runs / "b"])  # summaries built and saved first
    monkeypatch.setattr("olmo_green.summaries.overlap.rr.read_sample_chunk", refuse)
    kept, lines = distinct_runs([runs / "a", runs / "b"])
    assert kept == [runs / "a", runs / "b"] and lines == []


def test_the_sweep_finds_exactly_the_overlapping_pairs():
    """Against all pairs compared one by one, on random spans of a few devices."""
    rng = np.random.default_rng(24)
    spans = []
    for _ in range(12):
        n = int(rng.integers(1, 6))
        first, length = rng.uniform(0, 100, n), rng.uniform(0, 8, n)
        spans.append(pd.DataFrame({"node": "n", "device": rng.choice(["0", "1", "2"], n), "domain": "gpu",
                                   "source": "simulated", "first_s": first, "last_s": first + length,
                                   "path": "x"}, columns=SPAN_COLUMNS))
    found = {tuple(row) for row in _overlapping(spans)[["a", "b", "key"]].itertuples(index=False, name=None)}
    whole = [s.groupby("device").agg(first_s=("first_s", "min"), last_s=("last_s", "max")) for s in spans]
    expected = {(i, j, ("n", device, "gpu")) for i in range(12) for j in range(i + 1, 12)
                for device in set(whole[i].index) & set(whole[j].index)
                if whole[i].loc[device, "first_s"] <= whole[j].loc[device, "last_s"]
                and whole[j].loc[device, "first_s"] <= whole[i].loc[device, "last_s"]}
    assert found == expected and expected


def _device(time_s, power_w, energy_j=None) -> pd.DataFrame:
    energy_j = np.full(len(time_s), np.nan) if energy_j is None else energy_j
    return pd.DataFrame({"time_s": time_s, "power_w": power_w, "energy_j": energy_j})


def test_one_device_is_told_by_its_counter_or_by_power_that_moves_together():
    rng = np.random.default_rng(5)
    t = np.arange(0.0, 60.0, 0.1)
    power = 300 + 150 * np.sin(t / 3) + rng.normal(0, 2, len(t))
    counter = 1e7 + np.cumsum(power * 0.1)
    counter[400:] -= 1e7  # a reset, seen by both reads of the one counter
    later = t + 0.03
    assert one_device(_device(t, power, counter), _device(later, power, counter + power * 0.03))
    assert not one_device(_device(t, power, counter), _device(later, power, counter + 5e6))  # two GPUs "0"
    assert one_device(_device(t, power), _device(later, power + rng.normal(0, 1, len(t))))  # power only
    cpu_a, cpu_b = 60 + 10 * rng.random(len(t)), 60 + 10 * rng.random(len(t))  # two idle CPUs
    assert not one_device(_device(t, cpu_a), _device(later, cpu_b))
    assert not one_device(_device(t, power), _device(later, 300 - 150 * np.sin(t / 3)))  # their own loads
