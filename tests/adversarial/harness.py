"""The hostile pass's machinery: one simulated record per session, a copy per case, the command run
in-process (CliRunner) or as a subprocess with a hang-catching timeout, and a verdict:
OK (exit 0 with a right figure, or a clean refusal that names what is wrong), wrong (exit 0 with a
wrong figure), lost (a record file changed), hang, traceback, unclear (a refusal that does not say
what is wrong)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from olmo_green.cli import cli

HANG_S = 300  # generous: only catches hangs, never fails on a slow machine
CLASSES = ("OK", "wrong", "lost", "hang", "traceback", "unclear")
# Files an output may (re)write in a run directory without losing anything of the record.
OUTPUTS = {"dashboard.html", ".lock"}
DERIVED = (".summary.parquet", ".domains.parquet", ".buckets.parquet")  # rebuilt from the chunks


@dataclass
class Ctx:
    tmp: Path
    run: Path
    stdout: str = ""
    extra: dict = field(default_factory=dict)


@dataclass
class Case:
    id: str
    argv: Callable[[Ctx], list[str]]
    setup: Callable[[Ctx], None] | None = None
    good: Callable[[Ctx], bool] | None = None  # exit 0: is the figure right? None: exit 0 is wrong
    needle: tuple[str, ...] = ()  # a refusal must name one of these (case-insensitive)
    record: bool = True  # the case needs a copy of the record
    subprocess: bool = False
    multi: bool = False  # --verify: one line per finding, not one error line
    valid: bool = False  # the input is good: a refusal is not an answer
    checkpoints: bool = False
    xfail: str | None = None
    # False: a known limit whose outcome depends on the record (its sample spacing, under load);
    # the case then may pass, and the reason says why it is not yet fixed
    xfail_strict: bool = True


def refusal(id: str, argv: Callable[[Ctx], list], needle: tuple[str, ...], setup=None, **options) -> Case:
    """A case whose input is bad: exit 0 is wrong, a refusal must name one of `needle`."""
    return Case(id, argv, setup, None, needle, **options)


def train_argv(run: Path, max_steps: int) -> list[str]:
    """A simulated LUMI `olmo-green train` of `max_steps` steps into `run`, as a subprocess's argv."""
    return [
        sys.executable,
        "-m",
        "olmo_green.cli",
        "train",
        "--hardware",
        "lumi",
        "--simulate",
        "--max-steps",
        str(max_steps),
        "--run-dir",
        str(run),
    ]


SIMULATOR_REJECTS: list[str] = []  # simulated records that failed their own --verify (a finding)


def make_record(root: Path, tries: int = 3) -> Path:
    """A real 4-step simulated LUMI run, trained once through the CLI, that passes its own --verify.

    Under load a simulated record's counter and integrated power sometimes disagree beyond the
    stated error (a simulator finding, listed in SIMULATOR_REJECTS and printed by tally.py); the
    cases here need a record whose counter is the truth, so such a record is trained again.
    """
    for attempt in range(tries):
        run = root / f"record{attempt}"
        proc = subprocess.run(train_argv(run, 4), capture_output=True, text=True, timeout=HANG_S)
        assert proc.returncode == 0, proc.stderr
        verdict = CliRunner().invoke(cli, ["report", str(run), "--verify"])
        if verdict.exit_code == 0:
            return run
        SIMULATOR_REJECTS.append(verdict.stdout.strip().splitlines()[0])
    raise AssertionError(f"{tries} simulated records failed their own --verify: {SIMULATOR_REJECTS}")


def gpu_j_from_chunks(run: Path) -> float:
    """Independent figure: each device's counter span, read straight off the raw parquet chunks."""
    telemetry = run / "telemetry"
    frames = [pd.read_parquet(p) for p in sorted(telemetry.glob("*.[0-9]*.parquet"))]
    frames += [pd.read_csv(p) for p in sorted(telemetry.glob("*.open.csv"))]  # a killed run's open chunk
    data = pd.concat(frames)
    data = data[data["domain"] == "gpu"]
    spans = data.groupby(["node", "device"])["energy_j"].agg(lambda s: s.max() - s.min())
    return float(spans.sum())


def _chunks_readable(run: Path) -> bool:
    try:
        gpu_j_from_chunks(run)
    except Exception:
        return False
    return True


def fingerprint(run: Path) -> dict[str, str]:
    if not run.exists():
        return {}
    out = {}
    for p in sorted(run.rglob("*")):
        if p.is_file() and not p.is_symlink() and p.name not in OUTPUTS:
            out[str(p.relative_to(run))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _invoke(case: Case, argv: list[str]) -> tuple[int | None, str, str, bool]:
    """(exit code or None on hang, stdout, stderr, an exception escaped)."""
    if case.subprocess:
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "olmo_green.cli", *argv],
                capture_output=True,
                text=True,
                timeout=HANG_S,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return None, "", "", False
        return proc.returncode, proc.stdout, proc.stderr, False
    result = CliRunner().invoke(cli, argv)
    escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
    return result.exit_code, result.stdout, result.stderr, escaped


def _refusal(case: Case, text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("olmo-green: error:")]
    if not case.multi and len(errors) != 1:
        return "unclear"
    said = " ".join(errors if errors else lines).lower()
    if case.needle and not any(n.lower() in said for n in case.needle):
        return "unclear"
    return "OK" if said else "unclear"


def _stop_helpers(ctx: Ctx) -> None:
    """End the processes a case's setup started (a concurrent first run), by their own handle."""
    for proc in ctx.extra.values():
        if isinstance(proc, subprocess.Popen) and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run_case(case: Case, tmp: Path, record: Path) -> tuple[str, str]:
    """Run one case in `tmp`: (class, what happened)."""
    run = tmp / "run"
    if case.record:
        ignore = None if case.checkpoints else shutil.ignore_patterns("checkpoints", "dashboard.html")
        shutil.copytree(record, run, ignore=ignore)
    ctx = Ctx(tmp=tmp, run=run)
    if case.setup:
        case.setup(ctx)
    before = fingerprint(run)
    try:
        code, out, err, escaped = _invoke(case, [str(a) for a in case.argv(ctx)])
    finally:
        _stop_helpers(ctx)
    ctx.stdout = out
    said = f"exit {code}; stderr: {err.strip()[-400:]}; stdout: {out.strip()[:200]}"
    if code is None:
        return "hang", said
    if escaped or "Traceback" in out + err:
        return "traceback", said
    after = fingerprint(run)
    changed = [name for name, digest in before.items() if after.get(name) != digest]
    if _chunks_readable(run):  # the summaries are caches of the chunks: rebuilding them from intact chunks
        changed = [name for name in changed if not name.endswith(DERIVED)]
    if changed:  # a file of the record changed or went: new files beside it lose nothing
        return "lost", f"{said}; changed: {changed}"
    if code == 0:
        try:
            return ("OK" if case.good and case.good(ctx) else "wrong"), said
        except Exception as e:  # a figure that cannot be read back is not a right one
            return "wrong", f"{said}; check raised {e!r}"
    if case.valid:
        return "unclear", f"refused a valid input: {said}"
    return _refusal(case, err + "\n" + out if case.multi else (err if err.strip() else out)), said


def report_json(ctx: Ctx) -> dict:
    return json.loads(ctx.stdout)["runs"][0]


def close(a: float, b: float, rel: float = 0.02) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-12)
