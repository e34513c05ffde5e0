"""Reports reproduce the OLMo model card's and paper's figures from raw traces.

The traces span years on eight devices: hour-wide power buckets keep each test to seconds and
megabytes (10 s buckets took minutes and ~15 GB each); the energy does not depend on the width.
"""

import pytest

from olmo_green.accounts import account_trace
from olmo_green.reports import FIXED_KEYS, to_json_dict
from tests.reports.traces import constant_power_trace

HOUR_S = 3600.0


def account_of(trace, **options):
    return account_trace(trace, bucket_s=HOUR_S, **options)


@pytest.fixture
def trace_104(tmp_path):
    return constant_power_trace(tmp_path / "a100.csv", 104.0)


@pytest.fixture
def trace_135(tmp_path):
    return constant_power_trace(tmp_path / "lumi.csv", 135.0, power_w=500.0)


def test_104_mwh_on_mosaicml_a100_is_75_05_t(trace_104):
    account = account_of(trace_104, hardware="mosaicml-a100")
    assert account.gpu_energy_mwh == pytest.approx(104.0)
    assert account.pue == 1.1 and account.intensity_kg_per_kwh == 0.656
    assert round(account.emissions_tco2eq, 2) == 75.05


def test_104_mwh_at_australias_0_610_is_69_78_t(trace_104):
    account = account_of(trace_104, hardware="mosaicml-a100", intensity_kg_per_kwh=0.610)
    assert round(account.emissions_tco2eq, 2) == 69.78
    assert account.headline.basis == "given"


def test_135_mwh_on_lumi_is_zero_market_based(trace_135):
    account = account_of(trace_135, hardware="lumi")
    assert account.gpu_energy_mwh == pytest.approx(135.0)
    assert account.headline.basis == "market" and account.emissions_tco2eq == 0.0
    location = [c for c in account.carbon if c.basis == "location"]
    assert location and location[0].emissions_t > 0  # Finland's grid is shown beside it


def test_135_mwh_on_lumi_at_0_024_is_3_56_t(trace_135):
    account = account_of(trace_135, hardware="lumi", intensity_kg_per_kwh=0.024)
    assert round(account.emissions_tco2eq, 2) == 3.56


def test_json_has_the_fixed_keys_of_the_design(trace_104):
    runs = to_json_dict([account_of(trace_104, hardware="mosaicml-a100")])["runs"]
    assert len(runs) == 1 and set(FIXED_KEYS) <= set(runs[0])
    assert runs[0]["method"] == "replayed" and runs[0]["gpu_type"] == "A100-40GB (MosaicML)"
