"""Importing the integration without OLMo-core, or with an unsupported version: one line naming the extra."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from olmo_green.errors import GreenError
from olmo_green.integrations.requirement import IntegrationImportError, check_major
from tests.integrations.olmo_core_helpers import ROOT

IMPORT = """
import sys
{prelude}
try:
    import olmo_green.integrations.olmo_core
except ImportError as e:
    print(type(e).__name__, "|", e)
    sys.exit(3)
print("imported")
"""


def _import(prelude: str = "", pythonpath: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([pythonpath, env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", IMPORT.format(prelude=prelude)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1200)


def test_without_olmo_core_the_import_is_one_line_naming_the_extra():
    result = _import("sys.modules['olmo_core'] = None  # what an absent package looks like to import")
    assert result.returncode == 3, result.stderr
    assert result.stdout.count("\n") == 1
    assert result.stdout.startswith("IntegrationImportError | ")
    assert "ai2-olmo-core" in result.stdout and "pip install 'olmo-green[olmo-core]'" in result.stdout


def test_an_unsupported_installed_version_is_one_line_at_import(tmp_path):
    pytest.importorskip("olmo_core", reason="ai2-olmo-core is in the test extra: pip install -e '.[test]'")
    # An older release's metadata first on the path: importlib.metadata finds it before the real one.
    dist_info = tmp_path / "ai2_olmo_core-2.5.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: ai2-olmo-core\nVersion: 2.5.0\n")
    result = _import(pythonpath=str(tmp_path))
    assert result.returncode == 3, result.stderr
    assert result.stdout == ("IntegrationImportError | olmo-green supports ai2-olmo-core>=3.0,<4, "
                             "found 2.5.0: pip install 'olmo-green[olmo-core]'\n")


@pytest.mark.parametrize("version, ok", [("3.0.0", True), ("3.7.1rc1", True), ("2.5.0", False),
                                         ("4.0.0", False), ("dev", False)])
def test_the_supported_range_is_major_version_3(version, ok):
    def check():
        check_major("ai2-olmo-core", version, range(3, 4), "pip install 'olmo-green[olmo-core]'")

    if ok:
        check()
    else:
        with pytest.raises(IntegrationImportError) as error:
            check()
        assert isinstance(error.value, GreenError) and isinstance(error.value, ImportError)
