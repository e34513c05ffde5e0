"""Synthetic run records in the contract's layout, shared by the dashboard tests."""

import pytest

from olmo_green.dashboards.synthetic import SyntheticRun, write_synthetic_run


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """1,000 steps, 2 nodes x 2 devices, eval and checkpoint windows, counters and power."""
    return write_synthetic_run(tmp_path_factory.mktemp("runs") / "small", SyntheticRun(steps=1000))


@pytest.fixture(scope="module")
def other_run(tmp_path_factory):
    """A second, shorter run to overlay on the first."""
    spec = SyntheticRun(steps=600, nodes=1, step_s=0.8, seed=7)
    return write_synthetic_run(tmp_path_factory.mktemp("runs") / "other", spec)
