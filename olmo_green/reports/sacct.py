"""`report --sacct`: SLURM's own energy accounting beside ours, as a cross-check.

Where the cluster records energy (LUMI: AcctGatherEnergyType=acct_gather_energy/pm_counters,
the Cray node counters), `sacct -j IDS --format=JobID,ConsumedEnergyRaw,Elapsed,NNodes -P -n`
prints one `|`-separated line per job and per step. ConsumedEnergyRaw is the energy in joules
of all the job's nodes (sacct(1)); the job's own line (`123`, not `123.batch`/`123.0`) holds
the whole allocation's, set when the job ends. An empty field or 0 means nothing was
recorded (accounting off, or the job still running). sacct's man page warns that only an
exclusive allocation's figure is the job's own: shared nodes' energy is the node's.

The job ids come from the run's `job` events (written by each node's sampler at start), so
a run resumed in several jobs is compared over all of them. Whatever goes wrong here (no
sacct, no job ids, nothing recorded) is one line, never an error of the report.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from olmo_green import record as rr
from olmo_green.reports.account import RunAccount
from olmo_green.units import J_PER_KWH

SACCT_FORMAT = "JobID,ConsumedEnergyRaw,Elapsed,NNodes"


@dataclass(frozen=True)
class SacctRow:
    job_id: str
    energy_j: float | None  # None: empty or 0, nothing recorded
    elapsed_s: float | None
    nodes: int | None

    @property
    def is_job(self) -> bool:
        """The allocation's own line (123, 123_4 or 123+0), not one of its steps (123.batch, 123.0)."""
        return "." not in self.job_id


def job_ids(run_dir: str | Path) -> list[str]:
    """SLURM job ids the run's events name, in the order first seen."""
    ids: list[str] = []
    for event in rr.read_events(run_dir):
        job = event.get("slurm_job_id") if event.get("kind") == rr.EVENT_JOB else None
        if isinstance(job, str) and job and job not in ids:
            ids.append(job)
    return ids


def run_sacct(ids: Sequence[str]) -> tuple[str | None, str]:
    """sacct's output for the jobs, or (None, why not)."""
    exe = shutil.which("sacct")
    if exe is None:
        return None, "sacct is not on PATH (not a SLURM cluster?); pass --sacct FILE with saved output"
    command = [exe, "-j", ",".join(ids), f"--format={SACCT_FORMAT}", "-P", "-n"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"sacct could not run ({e})"
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[0]
        return None, f"sacct failed: {first[:200]}"
    return done.stdout, ""


def parse_elapsed_s(text: str) -> float | None:
    """sacct's Elapsed: [D-]HH:MM:SS (or MM:SS); None if it is none of these."""
    days, _, clock = text.strip().rpartition("-")
    parts = clock.split(":")
    try:
        numbers = [float(p) for p in parts]
        whole_days = int(days) if days else 0
    except ValueError:
        return None
    if not 2 <= len(numbers) <= 3:
        return None
    seconds = sum(n * 60 ** i for i, n in enumerate(reversed(numbers)))
    return whole_days * 86_400 + seconds


def parse_sacct(text: str) -> list[SacctRow]:
    """Rows of `-P -n` output in the order JobID|ConsumedEnergyRaw|Elapsed|NNodes; other lines skipped."""
    rows = []
    for line in text.splitlines():
        fields = line.strip().split("|")
        if len(fields) < 4 or not fields[0]:
            continue
        energy = fields[1].strip()
        nodes = fields[3].strip()
        rows.append(SacctRow(fields[0].strip(),
                             float(energy) if energy.isdigit() and int(energy) > 0 else None,
                             parse_elapsed_s(fields[2]), int(nodes) if nodes.isdigit() else None))
    return rows


def sacct_lines(account: RunAccount, rows: Sequence[SacctRow], ids: Sequence[str]) -> list[str]:
    """SLURM's node energy beside our whole-node and GPU figures, with the differences."""
    # Every job line counts: sacct was asked for the run's jobs only (or the user saved its output
    # for them); an array element prints as 123_4 whatever id it was asked by, so no id filter.
    jobs = [r for r in rows if r.is_job]
    if not jobs:
        return [f"sacct printed no job line for job(s) {', '.join(ids) or '(none named)'}"]
    missing = [r.job_id for r in jobs if r.energy_j is None]
    recorded = [r for r in jobs if r.energy_j is not None]
    if not recorded:
        return [f"SLURM recorded no energy for job(s) {', '.join(missing)} (ConsumedEnergyRaw empty or 0: "
                "energy accounting off on this cluster, or the job still running)"]
    slurm_j = sum(r.energy_j for r in recorded)
    names = ", ".join(r.job_id for r in recorded)
    lines = [f"SLURM node energy (sacct ConsumedEnergyRaw, job(s) {names}): {slurm_j / J_PER_KWH:.4g} kWh"]
    if account.node_energy_j:
        lines.append(_versus("our whole-node energy", account.node_energy_j, slurm_j))
    else:
        lines.append("our whole-node energy: not measured in this run (no node-level sensor)")
    lines.append(_versus("our GPU energy", account.gpu_energy_j, slurm_j)
                 + "; SLURM's node figure also holds CPUs, memory, network and fans")
    if missing:
        lines.append(f"no energy recorded for job(s) {', '.join(missing)}: the comparison leaves them out")
    lines.append("sacct's figure is the job's own only on exclusive nodes (sacct(1), ConsumedEnergy)")
    return lines


def _versus(label: str, ours_j: float, slurm_j: float) -> str:
    diff_j = ours_j - slurm_j
    return (f"{label}: {ours_j / J_PER_KWH:.4g} kWh, {diff_j / J_PER_KWH:+.4g} kWh "
            f"({diff_j / slurm_j:+.1%}) against SLURM's")


def sacct_report(accounts: Sequence[RunAccount], saved: str | None) -> list[str]:
    """The cross-check section for each run: from sacct, or from saved output (`saved` a path)."""
    lines = ["", "## SLURM energy accounting (sacct)", ""]
    for account in accounts:
        ids = job_ids(account.path) if Path(account.path).is_dir() else []
        lines.append(f"{account.name}:")
        lines += [f"- {line}" for line in _one_run(account, ids, saved)]
    return lines


def _one_run(account: RunAccount, ids: list[str], saved: str | None) -> list[str]:
    if saved is not None:
        try:
            text = Path(saved).read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            return [f"cannot read {saved} ({e.strerror or e})"]
    elif not ids:
        return ["the run's events name no SLURM job (it did not run under SLURM, or predates job events)"]
    else:
        text, why = run_sacct(ids)
        if text is None:
            return [why]
    return sacct_lines(account, parse_sacct(text), ids)
