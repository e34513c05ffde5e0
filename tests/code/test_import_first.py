"""Any module imports first, in a fresh interpreter: a package whose __init__ loads a module that
imports back into a half-loaded one (as traces/read.py -> reports/ -> reports/many.py ->
traces/report.py -> traces/read.py did) fails only in the order a user's script happens to use."""

import subprocess
import sys

import pytest

FIRST = ["olmo_green.traces.read", "olmo_green.traces.report", "olmo_green.reports.energy",
         "olmo_green.integrate", "olmo_green.summaries.build", "olmo_green.carbon.accounting",
         "olmo_green.model.olmo", "olmo_green.model.interop", "olmo_green.accounts"]


@pytest.mark.parametrize("module", FIRST)
def test_module_imports_first(module):
    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
