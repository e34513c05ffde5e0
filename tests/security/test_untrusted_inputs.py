"""A run directory, profile or checkpoint from elsewhere is read, never executed.

Every loader uses a format that cannot carry code (YAML's safe loader, NumPy
without pickle, torch with weights_only=True), so a file crafted to run a
command is an input error of one line, and the command never runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from olmo_green.cli import cli
from olmo_green.model import checkpoint as ckpt

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for folder in ("olmo_green", "model", "dashboards") for p in (ROOT / folder).rglob("*.py")]


def evil_yaml(marker: Path) -> str:
    """YAML that, loaded with yaml.load/unsafe_load, would create `marker`."""
    return f"hardware: !!python/object/apply:os.system ['touch {marker}']\nmax_steps: 3\n"


class Evil:
    """Unpickling this runs a command: what a malicious checkpoint carries."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def one_line_error(result) -> str:
    assert result.exit_code != 0 and "Traceback" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def evil_run(tmp_path: Path) -> tuple[Path, Path]:
    run, marker = tmp_path / "run", tmp_path / "pwned"
    (run / "telemetry").mkdir(parents=True)
    (run / "config.yaml").write_text(evil_yaml(marker))
    return run, marker


@pytest.mark.parametrize("verb", [["report"], ["train", "--resume", "--run-dir"]])
def test_a_config_yaml_with_a_python_tag_is_rejected_in_one_line(tmp_path, verb):
    run, marker = evil_run(tmp_path)
    line = one_line_error(CliRunner().invoke(cli, [*verb, str(run)]))
    assert "config.yaml" in line and "YAML" in line
    assert not marker.exists()


def test_the_dashboard_of_such_a_run_says_why_it_has_no_report_and_runs_nothing(tmp_path):
    run, marker = evil_run(tmp_path)
    result = CliRunner().invoke(cli, ["dashboard", str(run)])
    assert result.exit_code == 0, result.output
    assert "config.yaml: not valid YAML" in (run / "dashboard.html").read_text()
    assert not marker.exists()


def test_a_hardware_profile_with_a_python_tag_is_rejected_in_one_line(tmp_path):
    profile, marker = tmp_path / "site.yaml", tmp_path / "pwned"
    profile.write_text(f"pue: !!python/object/apply:os.system ['touch {marker}']\n")
    line = one_line_error(CliRunner().invoke(cli, ["estimate", "--model", "olmo-1b", "--tokens", "1e9",
                                                   "--hardware", str(profile)]))
    assert "site.yaml" in line
    assert not marker.exists()


def test_a_checkpoint_carrying_code_is_refused_and_the_code_never_runs(tmp_path):
    marker, folder = tmp_path / "pwned", tmp_path / "step000001"
    folder.mkdir()
    torch.save({"model": Evil(marker), "optim": {}}, folder / "model_optim.pt")
    torch.save({"rng": Evil(marker), "step": 1}, folder / "rank0.pt")
    model = torch.nn.Linear(2, 2)
    with pytest.raises(Exception, match="(?i)weights.only|unpickl|unsupported"):
        ckpt.load_checkpoint(folder, model, torch.optim.SGD(model.parameters(), lr=0.1))
    assert not marker.exists()


def test_train_resume_from_a_checkpoint_carrying_code_is_one_line_and_runs_nothing(tmp_path):
    run, marker = tmp_path / "run", tmp_path / "pwned"
    (run / "checkpoints" / "step000001").mkdir(parents=True)
    (run / "config.yaml").write_text("max_steps: 2\nhardware: lumi\nsimulate: true\nprogress: false\n")
    torch.save({"model": Evil(marker), "optim": {}}, run / "checkpoints" / "step000001" / "model_optim.pt")
    torch.save({"rng": {}, "step": 1}, run / "checkpoints" / "step000001" / "rank0.pt")
    (run / "checkpoints" / "latest").write_text("step000001\n")
    line = one_line_error(CliRunner().invoke(cli, ["train", "--resume", "--run-dir", str(run)]))
    assert "step000001: refused" in line
    assert not marker.exists()


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func), {k.arg: ast.unparse(k.value) for k in node.keywords}


def test_loaders_in_the_source_cannot_run_code():
    """Static: torch.load always weights_only=True; no pickle, no unsafe YAML, no eval/exec."""
    problems = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if {"cPickle", "dill", "marshal", "shelve"} & {n.split(".")[0] for n in names}:
                    problems.append(f"{path}:{node.lineno} imports a pickle-like module")
                if "pickle" in names and {a.name for a in node.names} - {"UnpicklingError"}:
                    problems.append(f"{path}:{node.lineno} imports more of pickle than its error")
        for call, func, keywords in _calls(tree):
            where = f"{path.relative_to(ROOT)}:{call.lineno} {func}"
            if func.endswith("torch.load") and keywords.get("weights_only") != "True":
                problems.append(f"{where} without weights_only=True")
            if func.endswith(("np.load", "numpy.load")) and keywords.get("allow_pickle", "False") != "False":
                problems.append(f"{where} allows pickle")
            if func in ("yaml.load", "yaml.unsafe_load", "yaml.full_load", "pd.read_pickle", "eval", "exec"):
                problems.append(where)
    assert not problems, "\n".join(problems)
