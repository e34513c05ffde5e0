"""A run whose name holds a `|` (or a newline) stays one row of the Markdown table."""

from olmo_green.reports import account_run
from olmo_green.reports.formats import to_markdown
from olmo_green.reports.mdtable import markdown_cell
from tests.reports.traces import write_run


def test_a_pipe_in_a_run_name_is_escaped_and_the_row_keeps_its_cells(tmp_path):
    run = write_run(tmp_path / "ablation|lr=3e-4")
    text = to_markdown([account_run(run, intensity_kg_per_kwh=0.5)])
    header, _, row = [line for line in text.splitlines() if line.startswith("|")][:3]
    cells = lambda line: line.replace("\\|", "").count("|")  # noqa: E731 - unescaped separators
    assert cells(row) == cells(header)
    assert "ablation\\|lr=3e-4" in row


def test_markdown_cell_escapes_backslashes_and_line_breaks():
    assert markdown_cell("a\\|b\nc") == "a\\\\\\|b c"
