"""Each tool's output as written (fixtures/), and the quirks each format has."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from olmo_green.errors import GreenError
from olmo_green.traces.formats import TraceOptions, open_trace, sniff_format

FIXTURES = Path(__file__).parent / "fixtures"
SNIFFED = {"nvidia-smi-units-index.csv": "nvidia-smi", "nvidia-smi-nounits-noindex.csv": "nvidia-smi",
           "nvidia-smi-instant.csv": "nvidia-smi", "dcgm-dmon-ts.log": "dcgm",
           "prometheus-range.json": "prometheus",
           "amd-smi-watch-mi250x.csv": "amd-smi", "rocm-smi-showpower-mi250x.csv": "rocm-smi",
           "record.csv": "record"}


def read(name_or_path, fmt="auto", **options):
    path = name_or_path if isinstance(name_or_path, Path) else FIXTURES / name_or_path
    opened = open_trace(path, fmt, TraceOptions(**options))
    return pd.concat(list(opened.batches), ignore_index=True), opened


def unix(text: str, tz: str = "UTC") -> float:
    return pd.Timestamp(text, tz=tz).value / 1e9


@pytest.mark.parametrize("name", sorted(SNIFFED))
def test_each_fixture_sniffs_as_its_format(name):
    assert sniff_format(FIXTURES / name) == SNIFFED[name]


def test_nvidia_smi_with_units_reads_index_power_and_na_as_a_gap():
    frame, opened = read("nvidia-smi-units-index.csv")
    assert opened.node == "nvidia-smi-units-index"  # from the file name
    assert frame["device"].tolist() == ["0", "1"] * 3
    assert frame["power_w"].tolist()[:3] == [116.51, 118.02, 698.43]
    assert np.isnan(frame["power_w"][3])  # [N/A]: a gap, not 0 W
    assert opened.stats.gaps_na == 1
    assert frame["time_s"][0] == pytest.approx(unix("2025-07-26 23:53:30.945"), abs=1e-6)
    assert "timestamps read as local time in UTC (--trace-tz; UTC unless given)" in opened.stats.notes


def test_nvidia_smi_local_time_follows_trace_tz():
    utc, _ = read("nvidia-smi-units-index.csv")
    berlin, _ = read("nvidia-smi-units-index.csv", tz="Europe/Berlin")
    offset, _ = read("nvidia-smi-units-index.csv", tz="+02:00")
    np.testing.assert_allclose(utc["time_s"] - berlin["time_s"], 7200, atol=1e-6)  # CEST in July
    np.testing.assert_allclose(offset["time_s"], berlin["time_s"], atol=1e-6)


def test_nvidia_smi_across_a_spring_forward_is_not_a_one_hour_gap():
    utc, opened_utc = read("nvidia-smi-instant.csv")
    berlin, opened = read("nvidia-smi-instant.csv", tz="Europe/Berlin")
    assert opened_utc.stats.time_jumps == 1  # read as UTC the clock change looks like an hour
    assert opened.stats.time_jumps == 0
    assert np.diff(berlin["time_s"]).tolist() == pytest.approx([0.1, 0.1], abs=1e-6)


def test_nvidia_smi_prefers_instant_power_ignores_other_columns_and_counts_not_supported():
    frame, opened = read("nvidia-smi-instant.csv", tz="Europe/Berlin")
    assert frame["power_w"][0] == 301.25 and frame["power_w"][2] == 305.75  # instant, not average
    assert np.isnan(frame["power_w"][1]) and opened.stats.gaps_na == 1  # [Not Supported]
    assert frame["device"].unique().tolist() == ["GPU-5f3e1c2a-0000-1111-2222-333344445555"]  # uuid
    assert any(note.startswith("power from power.draw.instant") for note in opened.stats.notes)


def test_nvidia_smi_without_index_infers_gpus_per_round_or_takes_it_from_trace_devices():
    frame, opened = read("nvidia-smi-nounits-noindex.csv")
    assert frame["device"].tolist() == ["0", "1"] * 3
    assert frame["power_w"].tolist() == [116.51, 118.02, 698.43, 690.2, 700.0, 689.1]
    assert any("2 GPU(s) per round, inferred" in note for note in opened.stats.notes)
    frame, opened = read("nvidia-smi-nounits-noindex.csv", devices=2)
    assert frame["device"].tolist() == ["0", "1"] * 3
    assert any("as --trace-devices says" in note for note in opened.stats.notes)


def test_nvidia_smi_rounds_that_share_a_timestamp(tmp_path):
    rows = [f"2025/07/26 23:53:{30 + r // 3:02d}.{100 * (r // 3) % 1000:03d}, {300 + r}.00 W"
            for r in range(12)]
    path = tmp_path / "equal.csv"
    path.write_text("timestamp, power.draw [W]\n" + "\n".join(rows) + "\n")
    frame, opened = read(path)
    assert frame["device"].tolist() == ["0", "1", "2"] * 4
    assert any("rows sharing a timestamp" in note for note in opened.stats.notes)


def test_trace_devices_that_contradict_the_rounds_is_refused():
    with pytest.raises(GreenError, match="do not come in rounds of 3 GPUs"):
        read("nvidia-smi-nounits-noindex.csv", devices=3)


def test_dcgm_dmon_reads_power_counter_in_j_and_na():
    frame, opened = read("dcgm-dmon-ts.log")
    assert frame["device"].tolist() == ["0", "1", "0", "1"]
    assert frame["time_s"].tolist() == [1753573910.945301, 1753573910.945344,
                                        1753573911.04702, 1753573911.047061]
    assert frame["energy_j"].tolist() == [123456.789, 223456.789, 123526.632, 223525.721]  # mJ -> J
    assert np.isnan(frame["power_w"][1]) and opened.stats.gaps_na == 1
    assert opened.stats.rows_dropped == {}  # the header, its unit line and dmon's goodbye are no rows


def test_prometheus_range_query_joins_power_and_counter_per_gpu():
    frame, opened = read("prometheus-range.json")
    assert (frame["node"] == "gpu-node-07").all()  # the Hostname label
    gpu0 = frame[frame["device"] == "0"]
    assert gpu0["power_w"].tolist()[:2] == [116.51, 698.43] and np.isnan(gpu0["power_w"].iloc[2])
    assert gpu0["energy_j"].tolist() == [123456.789, 123864.259, 124563.689, 125263.689]
    assert frame[frame["device"] == "1"]["energy_j"].isna().all()
    assert opened.stats.gaps_na == 1
    frame, _ = read("prometheus-range.json", node="renamed")
    assert (frame["node"] == "renamed").all()


def test_amd_smi_watch_output_counts_each_mi250x_package_once():
    frame, opened = read("amd-smi-watch-mi250x.csv")
    assert frame["device"].tolist() == ["0", "2", "0", "2"]
    assert frame["power_w"].tolist() == [237, 230, 512, 498]
    assert frame["energy_j"].tolist() == [5012345.125, 4987654.5, 5012719.625, 4988018.5]
    assert frame["time_s"].tolist() == [1753573910, 1753573910, 1753573911, 1753573911]
    assert opened.stats.rows_dropped == {"secondary GCD (its package is counted on the primary)": 4}
    assert any("whole seconds" in note for note in opened.stats.notes)


def test_rocm_smi_reads_time_lines_and_secondary_dies():
    frame, opened = read("rocm-smi-showpower-mi250x.csv")
    assert frame["device"].tolist() == ["0", "2", "0", "2"]
    assert frame["power_w"].tolist() == [237.0, 230.0, 512.0, 498.0]
    assert frame["time_s"].tolist() == pytest.approx([1753573910.945123456] * 2 + [1753573911.312345678] * 2)
    assert opened.stats.gaps_na == 0  # a secondary die is no gap: its package is read on the primary


def test_record_keeps_its_labels_and_an_empty_power_is_a_gap():
    frame, opened = read("record.csv")
    assert frame["source"].tolist() == ["nvml"] * 3 and (frame["node"] == "gpu-node-07").all()
    assert np.isnan(frame["power_w"][2]) and frame["energy_j"][2] == 1060.2


def test_a_file_larger_than_batch_rows_comes_in_several_bounded_batches(tmp_path):
    path = tmp_path / "big.csv"
    lines = [f"{1.7e9 + i * 0.1:.1f},{i % 4},{300 + i % 50}" for i in range(2503)]
    path.write_text("time_s,device,power_w\n" + "\n".join(lines) + "\n")
    opened = open_trace(path, "record", TraceOptions(batch_rows=1000))
    done = []
    sizes = []
    for batch in opened.batches:
        sizes.append(len(batch))
        done.append(opened.stats.bytes_done)
    assert sizes == [1000, 1000, 503]
    assert done[-1] == opened.stats.bytes_total == path.stat().st_size
    assert opened.stats.rows_read == 2503


def test_a_gzip_log_reads_like_the_plain_one(tmp_path):
    import gzip

    path = tmp_path / "node01.csv.gz"
    path.write_bytes(gzip.compress((FIXTURES / "nvidia-smi-units-index.csv").read_bytes()))
    frame, opened = read(path)
    plain, _ = read("nvidia-smi-units-index.csv")
    assert opened.node == "node01"
    pd.testing.assert_frame_equal(frame.drop(columns="node"), plain.drop(columns="node"))


@pytest.mark.parametrize("batch_rows", [1_000_000, 7])
def test_nvidia_smi_across_the_autumn_change_places_the_repeated_hour_by_order(tmp_path, batch_rows):
    start = pd.Timestamp("2025-10-26 00:30:00", tz="UTC")  # 02:30 summer time in Berlin
    lines = ["timestamp, index, power.draw [W]"]
    for k in range(720):  # 2 h every 10 s: 02:30 CEST, the clock back at 03:00 CEST, on to 03:30 CET
        wall = (start + pd.Timedelta(seconds=10 * k)).tz_convert("Europe/Berlin").tz_localize(None)
        lines += [f"{wall:%Y/%m/%d %H:%M:%S}.000, {g}, 300.00 W" for g in range(2)]
    path = tmp_path / "autumn.csv"
    path.write_text("\n".join(lines) + "\n")
    frame, opened = read(path, tz="Europe/Berlin", batch_rows=batch_rows)
    gpu0 = frame[frame["device"] == "0"]["time_s"].to_numpy()
    assert gpu0[0] == start.value / 1e9
    assert np.diff(gpu0).tolist() == pytest.approx([10.0] * 719)
    assert opened.stats.time_jumps == 0
