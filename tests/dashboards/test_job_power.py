"""The job power panel: the job's power over wall time with its swings marked."""

import numpy as np
import pandas as pd

from olmo_green.dashboards.panels import job_power_panel
from olmo_green.reports.swings import power_swings

T0 = 1.7e9


def _dip():
    power = [4760.0] * 6 + [840.0] * 3 + [4760.0] * 6  # 85% and 15% of 8 x 700 W
    job = pd.DataFrame({"time_s": T0 + np.arange(15) * 10.0, "bucket_s": 10.0, "power_w": power, "nodes": 1})
    steps = pd.DataFrame({"time_start_s": T0 + np.array([0.0, 60.0, 90.0]),
                          "time_end_s": T0 + np.array([60.0, 90.0, 150.0]),
                          "phase": ["train", "checkpoint", "train"]})
    return job, power_swings(job, steps)


def test_panel_draws_the_job_power_and_marks_the_largest_swings():
    job, swings = _dip()
    panel = job_power_panel([("run", job, swings)])
    lines = [t for t in panel.figure.data if t.mode == "lines"]
    assert len(lines) == 1 and max(lines[0].y) == np.float32(4.76)
    marks = [t for t in panel.figure.data if t.mode == "markers"]
    assert len(marks) == 2 and all("checkpoint" in t.name for t in marks)
    assert {float(t.y[0]) for t in marks} == {0.84}  # the drop lands at, and the rise leaves, the floor
    levels = {round(s.y0, 3) for s in panel.figure.layout.shapes}
    assert levels == {4.76, 0.84}  # peak and floor lines
    assert any("2 swing(s)" in n and "within 1 s: unavailable" in n for n in panel.notes)


def test_panel_without_data_draws_nothing():
    panel = job_power_panel([("run", pd.DataFrame(columns=["time_s", "bucket_s", "power_w", "nodes"]), None)])
    assert not panel.figure.data
