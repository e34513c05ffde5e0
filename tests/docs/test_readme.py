"""The README stays short and true: its commands, tables and links checked against the code."""

from __future__ import annotations

import re
from pathlib import Path

from olmo_green.hardware.profiles import list_profiles
from olmo_green.traces.formats import FORMAT_NAMES

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
FIRST_COMMAND = "pip install -e . && olmo-green train --hardware lumi --simulate --max-steps 50"
TEST_COMMAND = "pip install -e '.[test]' && ruff check . && python -m pytest -q"


def table_rows(first_header_cell: str) -> list[list[str]]:
    """The body rows of the README table whose header starts with that cell."""
    lines = README.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header_cell} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("`") for cell in line.strip("|").split(" | ")])
    return rows


def test_short_with_both_commands():
    assert len(README.splitlines()) <= 250
    assert f"```bash\n{FIRST_COMMAND}\n```" in README
    assert f"```bash\n{TEST_COMMAND}\n```" in README


def test_hardware_table_is_profiles_csv():
    rows = {row[0]: row[1:] for row in table_rows("profile")}
    profiles = list_profiles()
    assert set(rows) == {p.name for p in profiles}
    for p in profiles:
        gpu_type, sensors, pue = rows[p.name]
        assert gpu_type == p.gpu_type
        assert sensors == ", ".join(p.sensors)
        assert float(pue) == p.pue


def test_formats_table_is_the_readers():
    assert [row[0] for row in table_rows("format")] == list(FORMAT_NAMES)


def test_every_link_exists():
    links = re.findall(r"\]\(([^)#]+)\)", README)
    assert links, "the README links to its docs"
    missing = [link for link in links if not link.startswith("http") and not (REPO / link).exists()]
    assert not missing


def excerpt_patterns() -> list[re.Pattern]:
    """The report excerpt's lines as patterns: numbers and the run name may differ run to run."""
    block = README.split("<!-- report-excerpt", 1)[1].split("```", 2)[1]
    patterns = []
    for line in block.strip().splitlines():
        if not line.strip():
            continue
        parts = re.split(r"(\d[\d.,]*(?:e[+-]\d+)?|\bfirst\b)", line)  # numbers and the run name vary
        text = "".join(r"\S+?" if i % 2 else re.escape(part) for i, part in enumerate(parts))
        patterns.append(re.compile(f"^{text}$"))
    return patterns


def assert_excerpt_matches(report_md: str) -> None:
    """Each excerpt line matches a line of a real report.md (called by the getting-started test)."""
    lines = report_md.splitlines()
    for pattern in excerpt_patterns():
        assert any(pattern.match(line) for line in lines), pattern.pattern


def test_excerpt_patterns_are_strict():
    """The patterns reject a changed wording, so they can fail."""
    patterns = excerpt_patterns()
    assert len(patterns) >= 5
    assert not any(p.match("| Run | GPU | Energy |") for p in patterns)
