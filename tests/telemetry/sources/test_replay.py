"""Replay of a trace in the sample columns."""

import pandas as pd
import pytest

from olmo_green.errors import InputFileError
from olmo_green.telemetry.sources.replay import ReplaySource


def test_trace_replays_interpolated_from_its_first_sample(tmp_path):
    trace = tmp_path / "trace.csv"
    pd.DataFrame({"time_s": [100.0, 102.0, 100.0, 102.0], "device": [0, 0, 1, 1],
                  "power_w": [100.0, 300.0, 50.0, 50.0]}).to_csv(trace, index=False)
    source = ReplaySource(trace)
    assert [d.method for d in source.open()] == ["replayed", "replayed"]
    first = source.read(5000.0)
    later = source.read(5001.0)
    assert [r.power_w for r in first] == [100.0, 50.0]
    assert later[0].power_w == pytest.approx(200.0) and later[0].source == "replay"
    assert source.read(5010.0) == []  # the trace has ended


def test_malformed_trace_says_what_is_missing(tmp_path):
    trace = tmp_path / "bad.csv"
    pd.DataFrame({"t": [1.0], "device": ["0"]}).to_csv(trace, index=False)
    with pytest.raises(InputFileError, match="time_s"):
        ReplaySource(trace).open()
