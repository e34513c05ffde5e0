"""The cluster recipes in examples/ call olmo-green with flags the CLI really has, and parse as bash."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from olmo_green.cli import cli

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.s*"))


def invocations(text: str) -> list[tuple[str, list[str]]]:
    """(verb, flags) of every `olmo-green VERB ...` command, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in joined.splitlines():
        if line.lstrip().startswith("#"):
            continue
        # not a mention in a message: "(olmo-green prepare-data)"
        for match in re.finditer(r"(?<!\()olmo-green\)?\"? (\w[\w-]*)([^\n;|&]*)", line):
            found.append((match[1], re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", match[2])))
    return found


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_uses_only_real_flags_and_parses(path):
    subprocess.run(["bash", "-n", str(path)], check=True)
    calls = invocations(path.read_text())
    assert calls  # each recipe runs olmo-green: train (the cluster recipes) or report --verify
    for verb, flags in calls:
        command = cli.commands[verb]
        known = {opt for param in command.params for opt in param.opts + param.secondary_opts}
        assert set(flags) <= known, f"{path.name}: olmo-green {verb} has no {set(flags) - known}"
