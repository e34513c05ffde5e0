"""`report RUN... --by KEY`: runs rolled up by a tag's value, with a total row."""

import json

import pytest
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.reports import account_run
from olmo_green.reports.groups import group_by, total
from tests.reports.traces import write_run


def _run(tmp_path, name, tags=None, hardware="jupiter"):
    # 2 GPUs at 300 W, 100 s; on a node of its own name, so that each run's samples are its own
    run = write_run(tmp_path / name, hardware=hardware, node_domain=False, node=name)
    lines = [f"hardware: {hardware}"] + (["tags:"] + [f"  {k}: {v}" for k, v in tags.items()] if tags else [])
    (run / "config.yaml").write_text("\n".join(lines) + "\n")
    return run


@pytest.fixture
def runs(tmp_path):
    return [_run(tmp_path, "ablation", {"stage": "development"}),
            _run(tmp_path, "sweep", {"stage": "development"}),
            _run(tmp_path, "final", {"stage": "final", "project": "olmo2-7b"}), _run(tmp_path, "old")]


def test_groups_follow_the_tag_with_untagged_last(runs):
    accounts = [account_run(r) for r in runs]
    groups = group_by(accounts, "stage")
    assert [(g.value, g.runs) for g in groups] == [
        ("development", ("ablation", "sweep")), ("final", ("final",)), (None, ("old",))]
    dev = groups[0]
    assert dev.gpu_energy_mwh == pytest.approx(2 * 60e3 / 3.6e9)
    assert dev.gpu_hours == pytest.approx(2 * 2 * 100 / 3600)
    assert dev.emissions_tco2eq == pytest.approx(sum(a.emissions_tco2eq for a in accounts[:2]))
    assert dev.water_kl == pytest.approx(dev.gpu_energy_mwh * 1.2 * 1.29)
    assert dev.embodied_tco2eq == pytest.approx(dev.gpu_hours * 0.013 / 1000)
    assert total(groups).gpu_energy_mwh == pytest.approx(sum(a.gpu_energy_mwh for a in accounts))


def test_group_water_is_none_when_a_run_has_no_wue(tmp_path):
    accounts = [account_run(_run(tmp_path, "a", {"stage": "x"})),
                account_run(_run(tmp_path, "b", {"stage": "x"}, hardware="lumi"))]
    group = group_by(accounts, "stage")[0]
    assert group.water_kl is None and group.embodied_tco2eq is None  # never a partial sum


def _report(*args):
    return CliRunner().invoke(cli, ["report", *map(str, args)])


def test_json_has_top_level_groups_and_keeps_runs(runs):
    result = _report(*runs, "--by", "stage", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert len(report["runs"]) == 4
    assert [g["value"] for g in report["groups"]] == ["development", "final", None]
    assert set(report["groups"][0]) == {"key", "value", "runs", "gpu_hours", "gpu_energy_mwh",
                                        "emissions_tco2eq", "water_kl", "embodied_tco2eq"}
    assert report["runs"][2]["tags"] == {"stage": "final", "project": "olmo2-7b"}


def test_markdown_and_csv_show_untagged_and_a_total_row(runs):
    text = _report(*runs, "--by", "stage").output
    assert "## By stage" in text and "| untagged | 1 |" in text and "| total | 4 |" in text
    rows = _report(*runs, "--by", "stage", "--format", "csv").output.splitlines()
    assert rows[0].startswith("key,value,runs") and rows[-1].startswith("stage,total,4,")


def test_by_a_tag_no_run_has_is_one_line_exit_2(runs):
    result = _report(*runs, "--by", "team")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "no run has the tag 'team'" in result.output and "project, stage" in result.output
