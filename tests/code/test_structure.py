"""The code's seams: hooks that match their protocol, imports that respect privacy and direction."""

from __future__ import annotations

import ast
import inspect
import io
import re
import tokenize
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


# -- the import graph: no cycles, layers import downward only (docs/design.md, Layers) --------------

FOLDER_PACKAGES = {"olmo_green": "olmo_green", "model": "olmo_green.model",
                   "dashboards": "olmo_green.dashboards"}


def _module_name(path: Path) -> str:
    folder = path.relative_to(ROOT).parts[0]
    parts = [FOLDER_PACKAGES[folder], *path.relative_to(ROOT / folder).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the import nodes under `if TYPE_CHECKING:`: types, not a run-time dependency."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(inner) for stmt in node.body for inner in ast.walk(stmt)}
    return skipped


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports at run time (lazy imports in functions included)."""
    files = {_module_name(p): p for p in _python_files()}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped, targets = _type_checking_only(tree), set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("olmo_green"):
                targets |= {f"{node.module}.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names if alias.name.startswith("olmo_green")}
        graph[name] = {_resolve(t, files) for t in targets} - {name, ""}
    return graph


def _resolve(target: str, files: dict) -> str:
    """`olmo_green.x.y.Name` -> the module that defines it (olmo_green.x.y)."""
    while target and target not in files:
        target = target.rpartition(".")[0]
    return target


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def test_the_cycle_finder_finds_a_cycle():
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


# No circle is known: OLMo.from_pretrained/save_pretrained import model/interop.py, whose
# loaders take the model class, so no checkpoint format imports model/olmo.py.
KNOWN_CYCLES: list[list[str]] = []


def test_no_module_imports_in_a_circle():
    graph = import_graph()
    assert len(graph) > 100 and "olmo_green.telemetry.meter" in graph
    assert import_cycles(graph) == KNOWN_CYCLES


def design_layers() -> list[tuple[str, list[str]]]:
    """(layer, module prefixes) from docs/design.md's Layers table, top layer first."""
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    section = text.split("## Layers", 1)[1]
    table = section.split("```", 2)[1].strip().splitlines()
    assert table[0].split() == ["layer", "packages", "and", "modules"]
    return [(line.split()[0], [f"olmo_green.{m}" for m in line.split()[1:]]) for line in table[1:]]


def _layer_of(module: str, layers: list[tuple[str, list[str]]]) -> int | None:
    """Rank of the module's layer (0: the bottom); None for the package face olmo_green itself."""
    for rank, (_, prefixes) in enumerate(reversed(layers)):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    return None


def test_every_module_has_a_layer_in_the_design():
    layers = design_layers()
    assert [name for name, _ in layers][-1] == "foundation" and len(layers) >= 6
    assert [m for m in import_graph() if m != "olmo_green" and _layer_of(m, layers) is None] == []


def test_layers_import_downward_only():
    layers = design_layers()
    upward = [f"{source} -> {target}" for source, targets in import_graph().items() for target in targets
              if (_layer_of(target, layers) or 0) > (_layer_of(source, layers) or 0)]
    assert upward == []


def _unit_numbers(path: Path) -> list[str]:
    """Number literals that are J per kWh or MWh, or seconds per hour, in one file's code."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    return [f"{path.relative_to(ROOT)}:{t.start[0]}: {t.string}" for t in tokens
            if t.type == tokenize.NUMBER and complex(ast.literal_eval(t.string)) in UNIT_NUMBERS]


UNIT_NUMBERS = (3600.0, 3.6e6, 3.6e9)


def test_units_are_defined_once():
    """J per kWh and s per hour: one definition (units.py), no such number anywhere else."""
    found = [hit for path in _python_files() + sorted((ROOT / "benchmarks").rglob("*.py"))
             for hit in _unit_numbers(path)]
    assert [f for f in found if not f.startswith("olmo_green/units.py")] == []
    defining = re.compile(r"^(J_PER_KWH|J_PER_MWH|S_PER_HOUR|HOUR_S)\s*=", re.M)
    definitions = [f"{p.relative_to(ROOT)}" for p in _python_files()
                   if defining.search(p.read_text(encoding="utf-8"))]
    assert definitions == ["olmo_green/units.py"]
