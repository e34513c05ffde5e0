"""The getting-started page's shell blocks, run in order as a newcomer would run them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.test_readme import assert_excerpt_matches

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "getting-started.md"
BLOCK = re.compile(r"```bash\n(.*?)```", re.S)


def page_blocks() -> list[str]:
    return BLOCK.findall(PAGE.read_text(encoding="utf-8"))


def test_page_has_the_readme_command():
    """The first block is the README's first command, unchanged."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first = page_blocks()[0].strip()
    assert first == "pip install -e . && olmo-green train --hardware lumi --simulate --max-steps 50"
    assert first in readme


@pytest.mark.slow
def test_every_block_runs(tmp_path):
    """All blocks in one bash session, in a scratch folder, stop at the first failing line.

    `pip install -e .` must run in the checkout (that is where a reader types it); a
    `pip` function runs it there with this interpreter, so it reinstalls the same
    checkout into the environment the tests already use.
    """
    bindir = Path(sys.executable).parent
    script = "\n".join([
        "set -euo pipefail",
        f'pip() {{ (cd "{REPO}" && "{sys.executable}" -m pip --quiet "$@"); }}',
        *page_blocks(),
    ])
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=1800)  # a hang-catcher only: the page takes ~1-3 min
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "| Run | GPU Type |" in done.stdout  # head of report.md, printed by the page
    assert (tmp_path / "dashboard.html").stat().st_size > 100_000
    assert "modelled" in done.stdout  # the JSON line: energy and its method
    (report_md,) = tmp_path.glob("runs/*/report.md")
    assert_excerpt_matches(report_md.read_text(encoding="utf-8"))  # the README's excerpt is real
