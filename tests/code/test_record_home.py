"""The run record has one home (issue 22): only olmo_green/record/ parses or writes record files.

A function outside record/ that calls a parser (yaml.safe_load, pd.read_csv, pd.read_parquet,
pq.read_table, json.loads) or a Parquet/YAML writer while naming a record file (config.yaml,
steps.csv, events.jsonl, the telemetry folder, a chunk or summary path, or their constants in
record/layout.py) is reading the record behind the package's back.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("olmo_green", "model", "dashboards")
HOME = ROOT / "olmo_green" / "record"
PARSERS = {("yaml", "safe_load"), ("yaml", "load"), ("yaml", "safe_dump"), ("pd", "read_csv"),
           ("pd", "read_parquet"), ("pq", "read_table"), ("pq", "ParquetFile"), ("pq", "write_table"),
           ("json", "loads")}
RECORD_NAMES = {"config.yaml", "steps.csv", "events.jsonl", "telemetry", ".open.csv", ".summary.parquet",
                ".buckets.parquet", ".domains.parquet"}
RECORD_SYMBOLS = {"CONFIG_FILE", "STEPS_FILE", "EVENTS_FILE", "TELEMETRY_DIR", "OPEN_CHUNK_SUFFIX",
                  "telemetry_dir", "chunk_path", "open_chunk_path", "closed_csv_path", "sample_chunks",
                  "node_chunk_paths", "chunk_listing", "summary_path"}
# "file:function" exceptions, each with its reason; none is needed. (A native OLMo checkpoint's
# config.yaml, model/native_format.py's NATIVE_CONFIG, is a model format, not a record file.)
ALLOWED: set[str] = set()


def _calls(function: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and (node.func.value.id, node.func.attr) in PARSERS:
            found.append(f"{node.func.value.id}.{node.func.attr}")
    return found


def _names_record(function: ast.AST) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in RECORD_NAMES:
            return True
        if isinstance(node, ast.Name) and node.id in RECORD_SYMBOLS:
            return True
        if isinstance(node, ast.Attribute) and node.attr in RECORD_SYMBOLS:
            return True
    return False


def offenders(paths: list[Path], root: Path = ROOT) -> list[str]:
    found = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            calls = _calls(function)
            where = f"{path.relative_to(root)}:{function.name}"
            if calls and _names_record(function) and where not in ALLOWED:
                found.append(f"{where} ({', '.join(sorted(set(calls)))})")
    return found


def _outside_home() -> list[Path]:
    return [p for package in PACKAGES for p in (ROOT / package).rglob("*.py") if HOME not in p.parents]


def test_no_module_outside_record_parses_record_files():
    assert offenders(_outside_home()) == []


def test_the_scan_finds_a_reader_behind_the_packages_back(tmp_path):
    """The scan is not vacuous: the readers this issue removed would be found."""
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("import yaml\nimport pandas as pd\nfrom olmo_green import record as rr\n\n"
                      "def tags(run):\n"
                      "    return yaml.safe_load((run / 'config.yaml').read_text())['tags']\n\n"
                      "def steps(run):\n    return pd.read_csv(run / rr.STEPS_FILE)\n\n"
                      "def fine(path):\n    return yaml.safe_load(path.read_text())\n", encoding="utf-8")
    assert [o.split(" ")[0] for o in offenders([sneaky], tmp_path)] == ["sneaky.py:tags", "sneaky.py:steps"]
    assert offenders([HOME / "config.py"]) != []  # and record/ itself does read them


def test_the_record_package_imports_nothing_above_it():
    """record/ is the bottom layer: telemetry, summaries, reports and commands import it, never
    the other way round (hardware profiles are read lazily, for RunConfig.profile only)."""
    above = ("olmo_green.telemetry", "olmo_green.summaries", "olmo_green.reports", "olmo_green.carbon",
             "olmo_green.commands", "olmo_green.dashboards", "olmo_green.model", "olmo_green.config",
             "olmo_green.integrations", "olmo_green.cli")
    found = []
    for path in HOME.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(above):
                found.append(f"{path.name}: {node.module}")
    assert found == []


@pytest.mark.parametrize("word", ["safe_load"])
def test_grep_finds_record_yaml_parsed_only_in_record(word):
    """The issue's check, as a maintainer would run it: every safe_load outside record/ is one of
    the known non-record YAML readers (profiles, model YAMLs, checkpoints, --set values)."""
    lines = subprocess.run(["grep", "-rn", word, "olmo_green", "model", "dashboards", "--include=*.py"],
                           cwd=ROOT, capture_output=True, text=True, check=False).stdout.splitlines()
    files = {line.split(":", 1)[0] for line in lines if "olmo_green/record/" not in line}
    not_record = {"olmo_green/config.py", "olmo_green/hardware/profiles.py", "olmo_green/reports/estimate.py",
                  "model/build.py", "model/config.py", "model/recipes.py", "model/native_format.py",
                  "olmo_green/reports/modelcard_merge.py"}  # a README's front matter (issue 25)
    assert files <= not_record, files - not_record
