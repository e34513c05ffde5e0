"""The package as it ships: the wheel holds every file the code opens next to its modules.

An editable install reads data files from the checkout, so a missing
package_data entry only shows on a normal install (reports/*.csv once did:
`estimate` and `report` died with FileNotFoundError). This test builds the
wheel from the tracked files, offline, and looks inside it. .ci/run then
installs that wheel and runs the README's commands from it.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Source folder -> its name inside the installed olmo_green namespace (setup.py, MAPPED_FOLDERS).
FOLDERS = {"olmo_green": "olmo_green", "model": "olmo_green/model", "dashboards": "olmo_green/dashboards"}
SKIP = shutil.ignore_patterns(".git", ".venv", "build", "dist", "runs", "*.egg-info", "__pycache__",
                              ".pytest_cache", ".ruff_cache", "test-artifacts")


def installed_name(source: Path) -> str:
    """Where a file under one of FOLDERS lands in the wheel."""
    relative = source.relative_to(ROOT)
    return "/".join([FOLDERS[relative.parts[0]], *relative.parts[1:]])


def files_opened_beside_modules() -> dict[str, Path]:
    """Data files the code opens as Path(__file__).with_name("x") or Path(__file__).parent / "x"."""
    found = {}
    for folder in FOLDERS:
        for module in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
                name = _beside_file(node)
                if name is not None:
                    found[f"{module.relative_to(ROOT)}: {name}"] = module.with_name(name)
    return found


def _beside_file(node: ast.AST) -> str | None:
    if not (isinstance(node, (ast.Call, ast.BinOp)) and "__file__" in ast.unparse(node)):
        return None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "with_name":
        argument = node.args[0] if node.args else None
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        argument = node.right
    else:
        return None
    return argument.value if isinstance(argument, ast.Constant) and isinstance(argument.value, str) else None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a copy of the source (no build/ left in the checkout), offline."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=SKIP, symlinks=True)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                             "--no-index", "-q", "-w", str(work / "out"), str(source)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = (work / "out").glob("olmo_green-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_names(wheel) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_the_code_opens_data_files_beside_its_modules():
    """The scan below finds something: an empty scan would make the next test vacuous."""
    opened = files_opened_beside_modules()
    assert any(path.name == "error_bands.csv" for path in opened.values()), opened
    for where, path in opened.items():
        assert path.is_file(), f"{where} names a file that is not in the source tree"


def test_every_file_the_code_opens_is_in_the_wheel(wheel_names):
    missing = {where: installed_name(path) for where, path in files_opened_beside_modules().items()
               if installed_name(path) not in wheel_names}
    assert not missing, f"not in the wheel (setup.py package_data): {missing}"


def test_every_tracked_data_file_and_module_is_in_the_wheel(wheel_names):
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                assert installed_name(path) in wheel_names, f"{path.relative_to(ROOT)} is not in the wheel"


def test_the_console_script_is_declared(wheel, wheel_names):
    (entry_points,) = [n for n in wheel_names if n.endswith("entry_points.txt")]
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(entry_points).decode()
    assert "olmo-green = olmo_green.cli:main" in text
