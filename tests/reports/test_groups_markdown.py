"""`report --by KEY`: a `|` in a tag value stays inside its cell of the Markdown rollup (issue 24)."""

from olmo_green.reports import account_run
from olmo_green.reports.formats import to_markdown
from tests.reports.traces import write_run


def _unescaped_bars(line: str) -> int:
    return line.replace("\\|", "").count("|")


def test_a_pipe_in_a_tag_value_keeps_the_rollup_rows_columns(tmp_path):
    accounts = []
    for name, stage in (("a", "lr=3e-4|bs=512"), ("b", "final")):
        run = write_run(tmp_path / name, node_domain=False)
        (run / "config.yaml").write_text(f'hardware: jupiter\ntags:\n  stage: "{stage}"\n')
        accounts.append(account_run(run))
    text = to_markdown(accounts, by="stage")
    table = text.split("## By stage")[1].strip().split("\n\n")[0].splitlines()
    rows = [line for line in table if line.startswith("|")]
    assert len(rows) == 5  # header, rule, two groups, total
    assert {_unescaped_bars(r) for r in rows} == {_unescaped_bars(rows[0])}
    assert any(r.startswith("| lr=3e-4\\|bs=512 | 1 |") for r in rows)
