"""Issue 24, findings 1-6: a record whose parts contradict each other never gives a wrong figure
at exit 0. Each test makes a simulated record, tampers with it as the finding says, and checks
the figure (or the refusal) and that `report --verify` exits 1 with a line naming the problem."""

from __future__ import annotations

import json

import numpy as np
import pytest

from olmo_green.errors import GreenError
from olmo_green.reports import account_run
from tests.crosscheck.records import first_chunk, gpu_j, report, steady_run, verify


@pytest.fixture
def run(tmp_path):
    steady_run(tmp_path / "run", hardware="lumi", steps=10, eval_every=3)
    return tmp_path / "run"


def _shares_sound(account) -> None:
    for phase, energy_j in account.phases_j.items():
        assert -1e-9 <= energy_j <= account.gpu_energy_j * (1 + 1e-9), (phase, energy_j)


@pytest.mark.parametrize("fault", ["freezes", "stops", "garbage"])
def test_finding1_a_broken_counter_is_repaired_from_power_and_named(run, fault):
    honest_j = gpu_j(run)
    path, samples = first_chunk(run)
    times = np.sort(samples["time_s"].unique())
    after = samples["time_s"] >= times[len(times) // 5]  # the counter breaks a fifth of the way in
    if fault == "freezes":  # stuck at its last good reading while power goes on
        frozen = samples[~after].groupby("device")["energy_j"].max()
        samples.loc[after, "energy_j"] = samples.loc[after, "device"].map(frozen)
    elif fault == "stops":
        samples.loc[after, "energy_j"] = np.nan
    else:  # random readings, down and up
        samples.loc[after, "energy_j"] = np.random.default_rng(0).uniform(0, 50, int(after.sum()))
    samples.to_parquet(path, index=False)
    account = account_run(run)
    # Before: 82 % of the energy disappeared (or garbage added); now power carries the broken stretch.
    assert account.gpu_energy_j == pytest.approx(honest_j, rel=0.05)
    assert "power_integration where the counter disagreed" in account.method
    assert any("energy counter disagrees with integrated power" in n for n in account.notes)
    _shares_sound(account)
    code, out = verify(run)
    assert code == 1 and "energy counter disagrees with integrated power" in out


def test_finding2_steps_energy_edited_upward_is_not_trusted(run):
    honest = account_run(run)
    steps = (run / "steps.csv").read_text().splitlines()
    header = steps[0].split(",")
    column = header.index("energy_j")
    edited = [steps[0]]
    for line in steps[1:]:
        cells = line.split(",")
        cells[column] = str(float(cells[column]) * 20)
        edited.append(",".join(cells))
    (run / "steps.csv").write_text("\n".join(edited) + "\n")
    account = account_run(run)
    assert account.gpu_energy_j == pytest.approx(honest.gpu_energy_j, rel=1e-9)
    _shares_sound(account)  # before: 1705 % and -1605 %
    assert account.phases_j["outside"] >= 0
    assert any("steps.csv" in n and "edited" in n for n in account.notes)
    code, out = verify(run)
    assert code == 1 and "steps.csv" in out


def _alter_interval(run) -> None:
    config = (run / "config.yaml").read_text()
    assert "sampling_interval_s: 0.01" in config
    # 10x too fast, inside the allowed 1 ms..60 s (1e-5 s, the finding's first value, is now
    # refused on load: tests/record), so only the chunks' timestamps can show it is wrong
    altered = config.replace("sampling_interval_s: 0.01", "sampling_interval_s: 0.001")
    (run / "config.yaml").write_text(altered)


def test_finding3_config_sampling_interval_altered_after_the_run(run):
    honest_j = gpu_j(run)
    _alter_interval(run)
    for summary in (run / "telemetry").glob("*.summary.parquet"):
        summary.unlink()  # no stored summary to peek at: the interval comes from a chunk's timestamps
    assert gpu_j(run) == pytest.approx(honest_j, rel=0.01)  # before: 27 kJ became 17 J
    code, out = verify(run)
    assert code == 1 and "sampling_interval_s" in out


def test_finding3_out_of_range_interval_is_refused_in_one_line(run):
    config = (run / "config.yaml").read_text()
    altered = config.replace("sampling_interval_s: 0.01", "sampling_interval_s: 1.0e-05")
    (run / "config.yaml").write_text(altered)
    with pytest.raises(GreenError, match="sampling_interval_s"):
        account_run(run)


def test_finding3_power_only_record_keeps_its_energy(run):
    """Without a counter the gap threshold is all there is: the altered config must not zero it."""
    path, samples = first_chunk(run)
    samples.drop(columns="energy_j").to_parquet(path, index=False)
    honest_j = gpu_j(run)
    _alter_interval(run)
    assert gpu_j(run) == pytest.approx(honest_j, rel=0.01)
    assert verify(run)[0] == 1


def test_finding4_a_chunk_copied_under_another_nodes_name_counts_once(run):
    honest_j = gpu_j(run)
    path, _ = first_chunk(run)
    copy = path.with_name("zz-other-node.000000.parquet")
    copy.write_bytes(path.read_bytes())
    account = account_run(run)
    assert account.gpu_energy_j == pytest.approx(honest_j, rel=1e-9)
    assert any("duplicate" in n for n in account.notes)
    code, out = verify(run)
    assert code == 1 and "duplicate" in out and copy.name in out


def test_finding5_a_run_given_twice_or_through_a_symlink_counts_once(run, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(run, target_is_directory=True)
    once = json.loads(report(run, "--format", "json")[1])
    code, out = report(run, f"{run}/", link, "--format", "json")
    assert code == 0
    runs = json.loads(out)["runs"]
    assert len(runs) == 1
    assert runs[0]["gpu_energy_mwh"] == pytest.approx(once["runs"][0]["gpu_energy_mwh"], rel=1e-12)
    code, out = verify(run, link)
    assert code == 1 and "the same run" in out


def test_finding5_by_rollup_counts_a_run_given_twice_once(tmp_path):
    steady_run(tmp_path / "a", hardware="lumi", steps=4, tags={"stage": "dev"})
    once = json.loads(report(tmp_path / "a", "--by", "stage", "--format", "json")[1])
    code, out = report(tmp_path / "a", tmp_path / "a", "--by", "stage", "--format", "json")
    assert code == 0
    groups = json.loads(out)["groups"]
    assert groups[0]["runs"] == ["a"]
    assert groups[0]["gpu_energy_mwh"] == pytest.approx(once["groups"][0]["gpu_energy_mwh"])


def test_finding6_hardware_option_cannot_relabel_the_recorded_gpu(run):
    code, out = report(run, "--hardware", "mosaicml-a100")
    assert code != 0
    assert "ran on" in out and "Traceback" not in out and len(out.strip().splitlines()) == 1
    code, out = report(run, "--hardware", "lumi")  # the record's own hardware: fine
    assert code == 0 and "MI250X" in out


def test_finding1_a_counter_that_jumps_to_garbage_between_chunks_is_not_counted(tmp_path):
    """The seam between two chunks: the counter reads 1e9 J more from the second chunk on, while
    power goes on as before. The jump is no energy: power carries the seam."""
    from tests.summaries.test_summaries import T0_S, samples, write_record
    frame = samples(T0_S, 400, counter_start_j=1e6)
    honest = write_record(tmp_path / "honest", [frame.iloc[:200], frame.iloc[200:]])
    jumped = frame.copy()
    jumped.loc[200:, "energy_j"] += 1e9
    broken = write_record(tmp_path / "broken", [jumped.iloc[:200], jumped.iloc[200:]])
    assert gpu_j(broken) == pytest.approx(gpu_j(honest), rel=0.01)
    code, out = verify(broken)
    assert code == 1 and "energy counter disagrees" in out


def test_finding4_a_copied_chunk_altered_so_its_hash_differs_is_refused(run):
    """Same device, same time, two nodes' files, different bytes: no figure can be right."""
    path, samples = first_chunk(run)
    samples["power_w"] = samples["power_w"] * 1.001  # not the same samples any more
    samples.to_parquet(path.with_name("zz-other-node.000000.parquet"), index=False)
    code, out = report(run)
    assert code != 0 and "counted twice" in out and "Traceback" not in out
    code, out = verify(run)
    assert code == 1 and "counted twice" in out

