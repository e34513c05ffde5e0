"""`report --sacct`: SLURM's own energy accounting beside ours, as a cross-check.

Where the cluster records energy (LUMI: AcctGatherEnergyType=acct_gather_energy/pm_counters,
the Cray node counters), `sacct -j IDS --format=JobID,JobIDRaw,ConsumedEnergyRaw,Elapsed,NNodes
--parsable2` prints a header, then one `|`-separated line per job and per step (sacct_table.py
reads it by the header). ConsumedEnergyRaw is the energy in joules of all the job's nodes
(sacct(1)). The job's own line (`123`, not `123.batch`/`123.0`) holds the whole allocation's:
SLURM's src/sacct/print.c prints a job line's energy from the allocation's TRES (tres_alloc_str,
TRES_ENERGY) and a step's from that step's own counters. The steps overlap each other and the
allocation (`.extern` spans the whole allocation, `.batch` the batch script, `.0` an srun inside
it), so only the job line is counted and steps are never added to it or to each other; LUMI's
guide takes job energies with `sacct -X` (allocations only) for the same reason
(Lumi-supercomputer/lumi-userguide, docs/runjobs/scheduled-jobs/jobenergy.md). sacct's man page
warns that only an exclusive allocation's figure is the job's own: shared nodes' energy is the node's.

The job ids come from `--sacct-job` or from the run's `job` events (written by each node's sampler
at start), so a run resumed in several jobs is compared over all of them. Lines of other jobs in
the same file are never counted. A job that is not in the file, a file without an energy column,
or an energy above what the hardware could draw (package TDP x packages x elapsed x 1.5) is refused
in one line; sacct missing on PATH or nothing recorded is one line of the report, not an error.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from olmo_green import record as rr
from olmo_green.errors import ConfigError, InputFileError
from olmo_green.hardware import HardwareProfile
from olmo_green.reports.account import RunAccount
from olmo_green.reports.sacct_table import SacctRow, parse_elapsed_s, parse_sacct
from olmo_green.units import J_PER_KWH

__all__ = ["SACCT_FORMAT", "SacctOptions", "SacctRow", "parse_elapsed_s", "parse_sacct", "sacct_report"]

SACCT_FORMAT = "JobID,JobIDRaw,ConsumedEnergyRaw,Elapsed,NNodes"
PLAUSIBLE_MARGIN = 1.5  # above TDP x packages x elapsed by this much, a figure is not the job's


@dataclass(frozen=True)
class SacctOptions:
    saved: str | None = None  # a file of saved sacct output; None: run sacct
    jobs: tuple[str, ...] = ()  # --sacct-job; empty: the run's own job ids
    columns: tuple[str, ...] = ()  # --sacct-columns, for output saved without its header
    hardware: str | None = None  # report --hardware, for the plausibility bound


def job_ids(run_dir: str | Path) -> list[str]:
    """SLURM job ids the run's events name, in the order first seen."""
    ids: list[str] = []
    for event in rr.read_events(run_dir):
        job = event.get("slurm_job_id") if event.get("kind") == rr.EVENT_JOB else None
        if isinstance(job, str) and job and job not in ids:
            ids.append(job)
    return ids


def run_sacct(ids: Sequence[str]) -> tuple[str | None, str]:
    """sacct's output (with its header) for the jobs, or (None, why not)."""
    exe = shutil.which("sacct")
    if exe is None:
        return None, "sacct is not on PATH (not a SLURM cluster?); pass --sacct FILE with saved output"
    command = [exe, "-j", ",".join(ids), f"--format={SACCT_FORMAT}", "--parsable2"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"sacct could not run ({e})"
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[0]
        return None, f"sacct failed: {first[:200]}"
    return done.stdout, ""


def select_jobs(rows: Sequence[SacctRow], ids: Sequence[str], source: str) -> list[SacctRow]:
    """The job lines of `ids` (by JobID or JobIDRaw); any id not there is refused."""
    chosen = []
    for job in ids:
        lines = [r for r in rows if r.is_job and job in (r.job_id, r.raw_id)]
        if not lines:
            held = sorted({r.job_id.split(".")[0] for r in rows})
            listed = ", ".join(held[:8]) + (" ..." if len(held) > 8 else "")
            raise InputFileError(f"{source}: job {job} is not there (it holds {listed or 'no job'}); "
                                 "name the run's job with --sacct-job ID")
        chosen += [r for r in lines if r not in chosen]
    return chosen


def plausible_limit_j(row: SacctRow, profile: HardwareProfile, nodes_fallback: int) -> float | None:
    """The most the allocation's accelerators could draw: TDP x packages x elapsed x margin."""
    if row.elapsed_s is None:
        return None
    nodes = row.nodes or nodes_fallback
    return profile.package_tdp_w * profile.packages_per_node * nodes * row.elapsed_s * PLAUSIBLE_MARGIN


def check_plausible(jobs: Sequence[SacctRow], profile: HardwareProfile | None, nodes_fallback: int,
                    source: str) -> None:
    """Refuse a job line whose energy the hardware could not have drawn in its elapsed time."""
    for row in jobs:
        if row.energy_j is None:
            continue
        if profile is None:
            raise ConfigError(f"{source}: no hardware profile to check job {row.job_id}'s energy against; "
                              "pass --hardware NAME")
        limit_j = plausible_limit_j(row, profile, nodes_fallback)
        if limit_j is None:
            raise InputFileError(f"{source}: job {row.job_id} has no Elapsed, so its energy cannot be "
                                 "checked; save sacct output with Elapsed in --format")
        if row.energy_j > limit_j:
            packages = profile.packages_per_node * (row.nodes or nodes_fallback)
            raise InputFileError(
                f"{source}: job {row.job_id}'s {row.energy_j:.4g} J is implausible: more than "
                f"{profile.name}'s {profile.package_tdp_w:g} W x {packages} "
                f"packages x {row.elapsed_s:g} s x {PLAUSIBLE_MARGIN:g} = {limit_j:.4g} J; is it another "
                "job's line or a column read as energy?")


def sacct_lines(account: RunAccount, jobs: Sequence[SacctRow]) -> list[str]:
    """SLURM's node energy beside our whole-node and GPU figures, with the differences."""
    missing = [r.job_id for r in jobs if r.energy_j is None]
    recorded = [r for r in jobs if r.energy_j is not None]
    if not recorded:
        return [f"SLURM recorded no energy for job(s) {', '.join(missing)} (ConsumedEnergy empty or 0: "
                "energy accounting off on this cluster, or the job still running)"]
    slurm_j = sum(r.energy_j for r in recorded)
    names = ", ".join(r.job_id for r in recorded)
    lines = [f"SLURM node energy (sacct ConsumedEnergy, job(s) {names}; their steps not added, they overlap "
             f"the job's): {slurm_j / J_PER_KWH:.4g} kWh"]
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


def sacct_report(accounts: Sequence[RunAccount], options: SacctOptions) -> list[str]:
    """The cross-check section for each run: from sacct, or from saved output."""
    lines = ["", "## SLURM energy accounting (sacct)", ""]
    for account in accounts:
        lines.append(f"{account.name}:")
        lines += [f"- {line}" for line in _one_run(account, options)]
    return lines


def _one_run(account: RunAccount, options: SacctOptions) -> list[str]:
    is_run = Path(account.path).is_dir()
    ids = list(options.jobs) or (job_ids(account.path) if is_run else [])
    if not ids:
        if options.saved is not None:
            raise ConfigError(f"{account.name}: its events name no SLURM job; say which job of "
                              f"{options.saved} is this run's with --sacct-job ID")
        return ["the run's events name no SLURM job (it did not run under SLURM, or predates job events)"]
    if options.saved is not None:
        source = options.saved
        try:
            text = Path(source).read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            raise InputFileError(f"cannot read {source} ({e.strerror or e})") from e
    else:
        source = "sacct's output"
        text, why = run_sacct(ids)
        if text is None:
            return [why]
    jobs = select_jobs(parse_sacct(text, options.columns, source), ids, source)
    check_plausible(jobs, _profile(account, options.hardware), _nodes(account), source)
    return sacct_lines(account, jobs)


def _profile(account: RunAccount, hardware: str | None) -> HardwareProfile | None:
    from olmo_green.hardware import load_profile
    from olmo_green.reports.build import config_profile

    if hardware:
        return load_profile(hardware)
    return config_profile(account.path) if Path(account.path).is_dir() else None


def _nodes(account: RunAccount) -> int:
    """The run's node count, where sacct gives no NNodes."""
    return max(1, len({d.node for d in account.devices}))
