"""Energy-per-token panel: overlaid runs that differ in speed options say which in the legend."""

import pandas as pd
import yaml

from olmo_green.dashboards.panels import speed_labels
from olmo_green.dashboards.rundata import RunData
from olmo_green.reports.energy import RunEnergy


def _run(tmp_path, name: str, config: dict | None) -> RunData:
    path = tmp_path / name
    path.mkdir()
    if config is not None:
        (path / "config.yaml").write_text(yaml.safe_dump(config))
    return RunData(name, path, pd.DataFrame(), pd.DataFrame(), RunEnergy([]), RunEnergy([]))


def test_runs_that_differ_in_speed_options_are_labelled(tmp_path):
    eager = _run(tmp_path, "a", {"model": {"compile": False, "activation_checkpointing": "none"},
                                 "async_checkpoint": False})
    fast = _run(tmp_path, "b", {"model": {"compile": True, "activation_checkpointing": "full"},
                                "async_checkpoint": True})
    assert speed_labels([eager, fast]) == {"a": " (eager)", "b": " (compiled, AC full, async checkpoints)"}


def test_no_labels_for_one_run_or_runs_with_the_same_options(tmp_path):
    same = {"model": {"compile": True}}
    one, two = _run(tmp_path, "a", same), _run(tmp_path, "b", same)
    assert speed_labels([one]) == {} and speed_labels([one, two]) == {}
    unknown = _run(tmp_path, "c", None)  # no config.yaml: not called eager
    assert speed_labels([one, unknown]) == {"a": " (compiled)", "c": " (options unknown)"}
