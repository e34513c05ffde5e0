"""Markdown table rows: one home, shared by the report's formats, its groups and the model card."""

from __future__ import annotations

from collections.abc import Sequence


def markdown_cell(text: str) -> str:
    """A table cell that stays one cell: a `|` in a run's name would split the row."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def markdown_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(markdown_cell(c) for c in cells) + " |"
