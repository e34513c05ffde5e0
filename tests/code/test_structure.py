"""The code's seams: hooks that match their protocol, imports that respect privacy and direction."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from olmo_green.model.callbacks import Callback
from olmo_green.model.steprows import StepRows
from olmo_green.telemetry.callback import EnergyCallback

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("olmo_green", "model", "dashboards")
HOOKS = [name for name, member in vars(Callback).items() if callable(member) and not name.startswith("_")]


@pytest.mark.parametrize("callback_class", [EnergyCallback, StepRows])
def test_callbacks_have_every_hook_with_the_protocols_signature(callback_class):
    assert len(HOOKS) >= 12
    for hook in HOOKS:
        mine = inspect.signature(getattr(callback_class, hook))
        theirs = inspect.signature(getattr(Callback, hook))
        assert list(mine.parameters) == list(theirs.parameters), f"{callback_class.__name__}.{hook}"
    assert isinstance(callback_class(), Callback)


def _python_files() -> list[Path]:
    return [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]


def test_no_module_imports_another_modules_underscore_names():
    offenders = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("olmo_green"):
                offenders += [f"{path.relative_to(ROOT)}: {alias.name}" for alias in node.names
                              if alias.name.startswith("_") and alias.name != "__version__"]
            private_attribute = isinstance(node, ast.Attribute) and node.attr.startswith("_")
            if private_attribute and isinstance(node.value, ast.Name) and node.value.id == "rr":
                offenders.append(f"{path.relative_to(ROOT)}: rr.{node.attr}")
    assert offenders == []


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


def test_imports_go_one_way_between_model_and_telemetry():
    model = [m for p in (ROOT / "model").rglob("*.py") for m in _imports(p)]
    telemetry = [m for p in (ROOT / "olmo_green" / "telemetry").rglob("*.py") for m in _imports(p)]
    assert not [m for m in model if m.startswith("olmo_green.telemetry")]
    assert not [m for m in telemetry if m.startswith("olmo_green.model")]
