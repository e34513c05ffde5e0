"""Bad input: refused in one line (a GreenError naming the fix), or counted; never a traceback."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from olmo_green.errors import GreenError
from olmo_green.traces.formats import TraceOptions, open_trace, sniff_format

FIXTURES = Path(__file__).parent / "fixtures"
NVSMI_HEAD = "timestamp, index, power.draw [W]\n"


def read(path, fmt="auto", **options):
    opened = open_trace(path, fmt, TraceOptions(**options))
    return pd.concat(list(opened.batches), ignore_index=True), opened


def refused(path, match, fmt="auto", **options) -> str:
    with pytest.raises(GreenError, match=match) as caught:
        read(path, fmt, **options)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


def nvsmi_rows(times_s, devices=2, power=lambda i: f"{300 + i}.00 W") -> str:
    rows = []
    for i, t in enumerate(times_s):
        stamp = pd.Timestamp(t, unit="s")
        rows.append(f"{stamp:%Y/%m/%d %H:%M:%S}.{stamp.microsecond // 1000:03d}, {i % devices}, {power(i)}")
    return "\n".join(rows) + "\n"


# (file name, text, what the refusal says): logs whose figures cannot be read right
REFUSED_TEXTS = {
    "no-known-format": ("power.csv", "when,which,watts\n1,2,3\n", "in no known trace format.*--trace-format"),
    "counter-in-mj-read-as-j": (
        "mj.csv", "time_s,device,energy_j\n1700000000.0,0,100000000\n1700000000.1,0,100070000\n",
        r"rises at 700,0\d\d W.*mJ read as J"),
    "times-not-unix-seconds": (
        "ms.csv", "time_s,device,power_w\n1700000000000,0,300\n1700000000100,0,300\n",
        "looks like milliseconds"),
    "dcgm-without-any-time": (
        "plain.log", "#Entity         POWER             TOTEC\nID               W                 mJ\n"
        "GPU 0           116.510           123456789\n", "dcgmi dmon writes no time.*ts %.s"),
    "rocm-smi-without-time-lines": (
        "rocm.csv", "device,Average Graphics Package Power (W)\ncard0,237.0\n",
        "rocm-smi writes no time.*date"),
}


@pytest.mark.parametrize("name, text, match", REFUSED_TEXTS.values(), ids=REFUSED_TEXTS.keys())
def test_a_log_whose_figures_cannot_be_read_right_is_refused(tmp_path, name, text, match):
    path = tmp_path / name
    path.write_text(text)
    refused(path, match)


def test_a_header_matching_two_formats_is_refused(tmp_path):
    path = tmp_path / "both.csv"
    path.write_text("time_s,device,power_w,timestamp,power.draw [W]\n1.7e9,0,1,2025/07/26 23:53:30.945,1\n")
    message = refused(path, "matches several trace formats")
    assert "record" in message and "nvidia-smi" in message
    frame, opened = read(path, "record")  # naming one reads it
    assert opened.format == "record" and frame["power_w"].tolist() == [1.0]


def test_a_2gb_file_of_garbage_is_refused_after_reading_its_head(tmp_path):
    path = tmp_path / "garbage.csv"
    with path.open("wb") as f:
        f.write(os.urandom(1 << 20))
        f.truncate(2 << 30)  # sparse: 2 GiB on paper, nothing more is read than the sniffed head
    refused(path, "in no known trace format")


def test_a_named_format_that_does_not_fit_is_refused(tmp_path):
    refused(FIXTURES / "record.csv", "not an nvidia-smi log", "nvidia-smi")
    refused(FIXTURES / "nvidia-smi-units-index.csv", "not a record trace", "record")
    refused(FIXTURES / "record.csv", "no amd-smi header", "amd-smi")
    with pytest.raises(GreenError, match="unknown trace format 'csv'"):
        open_trace(FIXTURES / "record.csv", "csv")


@pytest.mark.parametrize(("options", "match"), [({"tz": "Mars/Olympus"}, "no time zone"),
                                                ({"tz": "+25:00"}, "not a UTC offset"),
                                                ({"devices": 0}, "--trace-devices"),
                                                ({"devices": 2.5}, "--trace-devices")])
def test_bad_options_are_refused(options, match):
    with pytest.raises(GreenError, match=match):
        open_trace(FIXTURES / "record.csv", options=TraceOptions(**options))


def test_timestamps_going_backward_are_refused(tmp_path):
    path = tmp_path / "back.csv"
    times = [1.7e9, 1.7e9, 1.7e9 + 0.1, 1.7e9 + 0.1, 1.7e9 + 0.05, 1.7e9 + 0.05]
    path.write_text(NVSMI_HEAD + nvsmi_rows(times))
    refused(path, "time goes back 0.05 s for device 0.*sort the log")


def test_timestamps_jumping_hours_are_counted_as_gaps(tmp_path):
    path = tmp_path / "jump.csv"
    times = [1.7e9, 1.7e9, 1.7e9 + 0.1, 1.7e9 + 0.1, 1.7e9 + 7200, 1.7e9 + 7200]
    path.write_text(NVSMI_HEAD + nvsmi_rows(times))
    frame, opened = read(path)
    assert len(frame) == 6
    assert opened.stats.time_jumps == 2 and opened.stats.longest_jump_s == pytest.approx(7199.9)
    assert any("time jump(s) over 1 h" in note for note in opened.stats.notes)


@pytest.mark.parametrize(("power", "unit"), [(lambda i: f"{300000 + i} W", "mW"),
                                             (lambda i: f"0.{300 + i} W", "kW")])
def test_power_in_mw_or_kw_is_refused_naming_the_unit(tmp_path, power, unit):
    path = tmp_path / f"{unit}.csv"
    path.write_text(NVSMI_HEAD + nvsmi_rows([1.7e9 + 0.1 * i for i in range(6)], power=power))
    refused(path, f"looks like {unit}.*log power in W")


def test_a_device_disappearing_halfway_is_noted(tmp_path):
    times = [1.7e9 + 0.1 * (i // 2) for i in range(2000)] + [1.7e9 + 100 + 0.1 * i for i in range(1000)]
    rows = nvsmi_rows(times[:2000]) + "".join(
        nvsmi_rows([t], power=lambda i: "500.00 W") for t in times[2000:])  # only GPU 0 after 100 s
    path = tmp_path / "gone.csv"
    path.write_text(NVSMI_HEAD + rows)
    _, opened = read(path)
    assert any(note.startswith("device 1 stops 100 s before the log ends") for note in opened.stats.notes)


def test_a_gpu_missing_from_the_rounds_of_a_log_without_index_is_refused(tmp_path):
    rows = []
    for r in range(900):
        gpus = 4 if r < 600 else 3  # a GPU falls off the bus after the sniffed head: rounds of 3 from here
        t = pd.Timestamp(1.7e9 + 0.1 * r, unit="s")
        rows += [f"{t:%Y/%m/%d %H:%M:%S}.{t.microsecond // 1000 + g:03d}, 300.00 W" for g in range(gpus)]
    path = tmp_path / "lost.csv"
    path.write_text("timestamp, power.draw [W]\n" + "\n".join(rows) + "\n")
    refused(path, "stop coming in rounds of 4 GPUs.*index column")


def test_a_truncated_last_line_is_dropped_and_counted(tmp_path):
    path = tmp_path / "cut.csv"
    rows = nvsmi_rows([1.7e9, 1.7e9, 1.7e9 + 0.1, 1.7e9 + 0.1])
    path.write_text(NVSMI_HEAD + rows + "2023/11/14 22:13:20.2, 0, 31")
    frame, opened = read(path)
    assert len(frame) == 4 and 31.0 not in frame["power_w"].tolist()
    assert opened.stats.rows_dropped == {"truncated last line": 1}
    assert opened.stats.bytes_done == opened.stats.bytes_total


def test_malformed_and_unreadable_rows_are_dropped_and_counted(tmp_path):
    path = tmp_path / "bad.csv"
    good = nvsmi_rows([1.7e9, 1.7e9, 1.7e9 + 0.1, 1.7e9 + 0.1])
    bad = "2023/11/14 22:13:20.200, 0\nyesterday, 1, 30 W\n2023/11/14 22:13:20.300, 0, hot\n"
    path.write_text(NVSMI_HEAD + good + bad)
    frame, opened = read(path)
    assert len(frame) == 4
    assert opened.stats.rows_dropped == {"malformed row (wrong number of fields)": 1,
                                         "unreadable timestamp": 1, "unreadable power": 1}


def test_prometheus_answers_that_are_not_range_queries_or_too_big_are_refused(tmp_path, monkeypatch):
    vector = tmp_path / "vector.json"
    vector.write_text('{"status":"success","data":{"resultType":"vector","result":[{"metric":'
                      '{"__name__":"DCGM_FI_DEV_POWER_USAGE","gpu":"0"},"value":[1700000000,"300"]}]}}')
    refused(vector, "not a range-query answer.*'vector'")
    cut = tmp_path / "cut.json"
    cut.write_text((FIXTURES / "prometheus-range.json").read_text()[:900])
    refused(cut, "not whole JSON")
    from olmo_green.traces.formats import prometheus

    monkeypatch.setattr(prometheus, "MAX_BYTES", 1000)
    refused(FIXTURES / "prometheus-range.json", "over the 0 MiB read whole.*split the range query")


def test_a_cut_off_gzip_is_refused(tmp_path):
    path = tmp_path / "node.csv.gz"
    rows = "".join(f"{1.7e9 + i / 10:.1f},{i % 4},{300 + i % 97}\n" for i in range(20000))
    path.write_bytes(gzip.compress(("time_s,device,power_w\n" + rows).encode())[:5000])
    refused(path, "cannot be read|unreadable")


def test_an_empty_file_and_a_directory_are_refused(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    refused(empty, "in no known trace format")
    with pytest.raises(GreenError, match="is a directory"):
        open_trace(tmp_path)
    with pytest.raises(GreenError, match="trace not found"):
        sniff_format(tmp_path / "missing.csv") if False else open_trace(tmp_path / "missing.csv")


def test_nan_power_is_a_gap_never_zero(tmp_path):
    frame, opened = read(FIXTURES / "nvidia-smi-units-index.csv")
    assert not (frame["power_w"] == 0).any() and np.isnan(frame["power_w"]).sum() == opened.stats.gaps_na == 1


def test_a_header_followed_by_garbage_is_refused_without_reading_it_all(tmp_path):
    junk = "".join(f"\x00\x17garbage{i}\x01\n" for i in range(150_000))
    for name, head in (("nvsmi.csv", NVSMI_HEAD), ("dmon.log", "#Entity   POWER   TOTEC\nID  W  mJ\n")):
        path = tmp_path / name
        path.write_text(head + junk + junk)
        with pytest.raises(GreenError, match="no readable row in its first 100,000") as caught:
            read(path)
        assert "\n" not in str(caught.value)


def test_a_line_without_end_in_a_text_log_is_skipped_not_held(tmp_path):
    path = tmp_path / "dmon.log"
    good = (FIXTURES / "dcgm-dmon-ts.log").read_text()
    path.write_text(good.replace("\n\n", "\n" + "x" * 300_000 + "\n", 1))
    frame, opened = read(path)
    assert len(frame) == 4 and opened.stats.rows_dropped == {"overlong line": 1}


def test_a_time_line_holds_only_for_the_block_after_it(tmp_path):
    rocm = tmp_path / "rocm.csv"
    block = "device,Average Graphics Package Power (W)\ncard0,237.0\n"
    rocm.write_text("1753573910.5\n" + block + block)  # the loop wrote a time before the first call only
    refused(rocm, "rocm-smi writes no time")
    amd = tmp_path / "amd.csv"
    watch = (FIXTURES / "amd-smi-watch-mi250x.csv").read_text()
    amd.write_text("1753573909.25\n" + watch.split("\n", 1)[1])  # one time line, then --watch's own rounds
    frame, _ = read(amd)
    assert frame["time_s"].tolist() == [1753573909.25, 1753573909.25, 1753573911, 1753573911]


def test_a_utf16_log_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "windows.csv"
    path.write_bytes((FIXTURES / "nvidia-smi-units-index.csv").read_text().encode("utf-16"))
    refused(path, "is UTF-16 text; convert it to UTF-8")


def test_a_crlf_log_reads_like_the_lf_one(tmp_path):
    path = tmp_path / "crlf.csv"
    path.write_bytes((FIXTURES / "nvidia-smi-units-index.csv").read_bytes().replace(b"\n", b"\r\n"))
    frame, _ = read(path)
    plain, _ = read(FIXTURES / "nvidia-smi-units-index.csv")
    pd.testing.assert_frame_equal(frame.drop(columns="node"), plain.drop(columns="node"))
