"""--verify on a config.yaml that `report` refuses (issue 24 hostile pass: it said OK)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from tests.crosscheck.records import verify
from tests.record.golden_runs import make_run


@pytest.mark.parametrize("edit,named", [
    (lambda c: c["telemetry"].update(sampling_interval_s=-0.1), "telemetry.sampling_interval_s"),
    (lambda c: c["resolved_hardware"].update(package_tdp_w=1.0), "package_tdp_w"),
])
def test_verify_names_a_config_the_report_refuses(tmp_path, edit, named):
    """Before: `report` refused the edited config.yaml in one line and `--verify` said OK."""
    import yaml

    run = make_run(tmp_path, "olmo2-a100")
    config = yaml.safe_load((run / "config.yaml").read_text())
    edit(config)
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    assert CliRunner().invoke(cli, ["report", str(run)]).exit_code != 0
    code, out = verify(run)
    assert code == 1 and named in out and "config.yaml" in out


def test_verify_names_a_hardware_name_that_contradicts_the_resolved_profile(tmp_path):
    """`hardware: h100` over a record whose resolved_hardware is the A100 profile: the report's
    figures stay right (it uses resolved_hardware), but one of the two was edited."""
    import yaml

    run = make_run(tmp_path, "olmo2-a100")
    assert verify(run)[0] == 0
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["hardware"] = "h100"
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    code, out = verify(run)
    assert code == 1 and "hardware is 'h100' but resolved_hardware" in out and "'mosaicml-a100'" in out


def test_verify_names_more_drawing_dies_than_the_profiles_packages(tmp_path):
    """MI250X: the profile says one die of two reports its package. A die's energy written again
    as its sibling's counts the package twice (+25 %); the report noted it, --verify said OK."""
    import pandas as pd

    run = make_run(tmp_path, "olmo1-lumi")  # 4 drawing devices for LUMI's 4 packages a node
    assert verify(run)[0] == 0
    chunk = sorted((run / "telemetry").glob("node0.*.parquet"))[0]
    samples = pd.read_parquet(chunk)
    sibling = samples[samples["device"] == "0"].assign(device="4")
    pd.concat([samples, sibling], ignore_index=True).to_parquet(chunk, index=False)
    code, out = verify(run)
    assert code == 1 and "5 devices drew energy but the nodes hold 4" in out
