"""Run records or a trace -> RunAccount.

The energy method is integrate's (curves_from_samples): the meter,
the reports and the dashboards count energy the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from olmo_green import record as rr
from olmo_green.carbon import CarbonFactors, CarbonOptions, carbon_lines, resolve_factors
from olmo_green.crosscheck import mfu_findings, windows
from olmo_green.crosscheck import record as crosscheck
from olmo_green.crosscheck.gaps import contradicted_gaps, gap_findings, gap_notes, without
from olmo_green.crosscheck.lifespan import lifespan_findings
from olmo_green.crosscheck.sensors import implausible_power_lines, sensor_findings
from olmo_green.errors import ConfigError, GreenError, InputFileError
from olmo_green.hardware import HardwareProfile, list_profiles, load_profile
from olmo_green.integrate import EnergyCurve
from olmo_green.record import RunConfig
from olmo_green.reports.account import DeviceEnergy, Gaps, RunAccount, error_bands
from olmo_green.reports.efficiency import record_flops_per_peak, record_tokens_per_step, run_mfu
from olmo_green.reports.energy import GPU_DOMAINS, RunEnergy, run_energy
from olmo_green.reports.forecastcheck import forecast_notes
from olmo_green.reports.holistic import Holistic, holistic
from olmo_green.reports.steps import (
    clean_steps,
    phase_energy_j,
    step_table,
    steps_findings,
    steps_notes,
    train_tokens,
)
from olmo_green.reports.swings import power_swings
from olmo_green.summaries.record import record_settings
from olmo_green.units import S_PER_HOUR

# A fault opens a gap (gap_start) and recovery closes it with its duration
# (gap_end); a resumed run records the time its record was down (resume_gap).
CLOSED_GAP_KINDS = {rr.EVENT_GAP_END, rr.EVENT_RESUME_GAP}
HOST_DOMAINS = ("cpu", "dram")  # RAPL's package and DRAM zones (Cray's cpu and memory counters too)


def run_tags(run_dir: Path) -> dict[str, str]:
    """The run's tags (`train --tag KEY=VALUE`, EnergyMeter(tags=...)), from config.yaml."""
    config = RunConfig.load(run_dir)
    return config.tags if config is not None else {}


def _config_profile(run_dir: Path) -> HardwareProfile | None:
    # The profile as resolved when the run started (values and sources) is what
    # the run used; a name or a YAML path may mean something else today.
    config = RunConfig.load(run_dir)
    return config.profile(str(run_dir / rr.CONFIG_FILE)) if config is not None else None


def config_profile(run_dir: str | Path) -> HardwareProfile | None:
    """The profile a run's config.yaml records (None if it has none), for other readers of a run."""
    return _config_profile(Path(run_dir))


def options_profile(options: CarbonOptions, run_dir: Path | None) -> HardwareProfile | None:
    """The hardware profile: --hardware over the run's recorded one (traces have no run folder)."""
    if not options.hardware:
        return _config_profile(run_dir) if run_dir is not None else None
    given = load_profile(options.hardware)
    try:
        recorded = _config_profile(run_dir) if run_dir is not None else None
    except (InputFileError, ConfigError):
        recorded = None  # a broken config.yaml: --hardware is how its message says to go on
    # The record says what it ran on: --hardware may change the site (PUE, intensity, water), never
    # the accelerators a run's energy was measured on (issue 24, finding 6).
    ran_on = (recorded.gpu_type, recorded.accelerator) if recorded is not None else None
    if ran_on is not None and (given.gpu_type, given.accelerator) != ran_on:
        raise ConfigError(f"{run_dir}: the run ran on {recorded.gpu_type} (config.yaml) but --hardware "
                          f"{options.hardware} describes {given.gpu_type}; drop --hardware, or give another "
                          "site's figures with --pue and --intensity/--country")
    return given


def _device(curve: EnergyCurve) -> DeviceEnergy:
    return DeviceEnergy(node=curve.node, device=curve.device, domain=curve.domain, method=curve.method,
                        energy_j=curve.total_j, duration_s=curve.duration_s, resets=curve.resets,
                        gaps=curve.gaps, gap_s=curve.gap_s, gap_upper_j=curve.gap_upper_j)


def _gaps(curves: Sequence[EnergyCurve], events: list[dict]) -> Gaps:
    kinds = [str(e.get("kind", "")) for e in events]
    closed = [e for e, k in zip(events, kinds, strict=True) if k in CLOSED_GAP_KINDS]
    # a gap_start without its gap_end: the run ended inside a gap
    still_open = max(0, kinds.count(rr.EVENT_GAP_START) - kinds.count(rr.EVENT_GAP_END))
    return Gaps(count=sum(c.gaps for c in curves), seconds=sum(c.gap_s for c in curves),
                upper_j=sum(c.gap_upper_j for c in curves), events=len(closed) + still_open,
                event_s=sum(float(e.get("duration_s", 0.0) or 0.0) for e in closed))


def _rejected(events: list[dict]) -> dict[str, int]:
    """Implausible sensor values the sampler dropped, per reason, summed over its events."""
    counts: dict[str, int] = {}
    for event in events:
        if event.get("kind") == rr.EVENT_REJECTED_SAMPLES and isinstance(event.get("counts"), dict):
            for reason, n in event["counts"].items():
                counts[str(reason)] = counts.get(str(reason), 0) + int(n)
    return counts


def _dropped(events: list[dict]) -> dict[str, int]:
    """Rows that could not be written (full disk), per file of the record."""
    rows: dict[str, int] = {}
    for event in events:
        if event.get("kind") == rr.EVENT_RECORDS_DROPPED:
            rows[str(event.get("file"))] = rows.get(str(event.get("file")), 0) + int(event.get("rows", 0))
    return rows


REJECT_WORDS = {"negative": "negative", "not_finite": "NaN or infinite", "above_limit": "above 3x TDP"}


def _fault_notes(events: list[dict]) -> list[str]:
    notes = []
    rejected = _rejected(events)
    if rejected:
        parts = ", ".join(f"{n:,} {REJECT_WORDS.get(r, r)}" for r, n in sorted(rejected.items()))
        notes.append(f"{sum(rejected.values()):,} implausible sensor value(s) dropped, not clamped "
                     f"({parts}); a dropped power value is a missing sample")
    for file, rows in sorted(_dropped(events).items()):
        errors = {str(e.get("error")) for e in events if e.get("kind") == rr.EVENT_RECORDS_DROPPED
                  and str(e.get("file")) == file}
        notes.append(f"{rows:,} row(s) of {file} could not be written ({'; '.join(sorted(errors))}) and are "
                     "missing from the record; lost samples show as a gap")
    return notes


def _method(curves: Sequence[EnergyCurve], replayed: bool) -> tuple[str, str]:
    """The run's method and the method whose error band applies."""
    methods = sorted({c.method for c in curves}) or ["counter"]
    measured = "+".join(methods)
    # The widest band among the methods present.
    band_method = max(methods, key=lambda m: error_bands().get(m, (0.0, ""))[0])
    return ("replayed" if replayed else measured), band_method


def _package_counts(profile: HardwareProfile, curves: Sequence[EnergyCurve]) -> tuple[int, int]:
    """The nodes' packages and the devices that drew energy."""
    return profile.packages_per_node * len({c.node for c in curves}), sum(1 for c in curves if c.total_j > 0)


def package_findings(profile: HardwareProfile | None, curves: Sequence[EnergyCurve]) -> list[str]:
    """Multi-die packages (MI250X): the profile says one die reports the package, so more drawing
    devices than packages contradicts it: a package may be counted twice (--verify fails)."""
    if profile is None or profile.devices_per_package <= 1:
        return []
    packages, drawing = _package_counts(profile, curves)
    if drawing <= packages:
        return []
    return [f"{drawing} devices drew energy but the nodes hold {packages} {profile.accelerator} "
            "packages: if each die reports its package's power, the package is counted twice; "
            "check the telemetry"]


def _package_note(profile: HardwareProfile, curves: Sequence[EnergyCurve]) -> str:
    """Multi-die packages (MI250X): one die reports the package: the contradiction, else the counts."""
    contradiction = package_findings(profile, curves)
    if contradiction:
        return contradiction[0]
    packages, drawing = _package_counts(profile, curves)
    return (f"{profile.accelerator}: {profile.devices_per_package} devices per package; {drawing} devices "
            f"report package energy for {packages} packages, each counted once")


def _notes(profile: HardwareProfile | None, curves: Sequence[EnergyCurve],
           factors: CarbonFactors, steps: pd.DataFrame) -> list[str]:
    notes = []
    overlaps = steps["overlap_s"] > 0 if "overlap_s" in steps else pd.Series(dtype=bool)
    if overlaps.any():
        notes.append(f"{int(overlaps.sum())} step window(s) overlapped earlier ones, which no single writer "
                     f"does (an edited or merged steps.csv?); the {steps['overlap_s'].sum():.1f} s of "
                     "overlap is counted once")
    resets = sum(c.resets for c in curves)
    if resets:
        notes.append(f"{resets} counter reset(s): energy after each counted from the new reading, "
                     "none dropped")
    if profile is not None and profile.devices_per_package > 1:
        notes.append(_package_note(profile, curves))
    if factors.pue_source.startswith("no PUE"):
        notes.append(factors.pue_source)
    return notes


def _holistic(gpu: Sequence[EnergyCurve], devices: Sequence[EnergyCurve], factors: CarbonFactors,
              profile: HardwareProfile | None, wue: float | None) -> Holistic:
    node = [c for c in devices if c.domain == "node"]
    host = [c for c in devices if c.domain in HOST_DOMAINS]
    device_hours = sum(c.duration_s for c in gpu) / S_PER_HOUR
    return holistic(sum(c.total_j for c in gpu), factors.pue, device_hours, profile, wue=wue,
                    node_energy_j=sum(c.total_j for c in node) if node else None,
                    host_energy_j=sum(c.total_j for c in host) if host else None)


def account_energy(energy: RunEnergy, *, name: str, path: str, factors: CarbonFactors,
                   profile: HardwareProfile | None, steps: pd.DataFrame | None = None,
                   events: list[dict] | None = None, replayed: bool = False,
                   wue: float | None = None, tags: dict[str, str] | None = None,
                   tokens_per_step: float | None = None) -> RunAccount:
    """The account of a run's or trace's energy (the shared core of both); `tokens_per_step`:
    config.yaml's, for the tokens cross-check (crosschecked)."""
    devices = energy.devices
    gpu = [c for c in devices if c.domain in GPU_DOMAINS]
    node = [c for c in devices if c.domain == "node"]
    if not gpu:
        raise InputFileError(f"{path}: no accelerator (domain gpu) samples; check the domain column")
    timeline = energy.timeline()
    gpu_j = sum(c.total_j for c in gpu)
    steps = clean_steps(steps if steps is not None else pd.DataFrame())
    steps, findings = crosschecked(energy, steps, gpu_j, tokens_per_step=tokens_per_step, events=events)
    method, band_method = _method(gpu, replayed)
    if crosscheck.repaired([n.checks for n in energy.nodes]):
        method += ", power_integration where the counter disagreed with power"
    band, band_source = error_bands()[band_method]
    invented = contradicted_gaps(events or [], energy.nodes)  # gap events the samples ran through
    return RunAccount(
        name=name, path=path, hardware=profile.name if profile else None,
        gpu_type=profile.gpu_type if profile else "unknown (pass --hardware)",
        method=method + (" (incomplete)" if energy.unreadable else ""),
        gpu_energy_j=gpu_j, pue=factors.pue, pue_source=factors.pue_source,
        carbon=carbon_lines(timeline, factors), devices=[_device(c) for c in devices],
        node_energy_j=sum(c.total_j for c in node) if node else None,
        phases_j=phase_energy_j(timeline, steps, gpu_j), tokens=train_tokens(steps),
        gaps=_gaps(gpu, without(events or [], invented)), error_band_rel=band,
        error_band_source=f"{band_method}: {band_source}",
        notes=([f"Cross-check: {line}" for line in findings]
               + _notes(profile, gpu, factors, steps) + _record_notes(energy) + steps_notes(steps, events)
               + windows.window_notes(steps) + _fault_notes(events or [])
               + forecast_notes(events or [], gpu_j) + gap_notes(invented)),
        rejected_samples=_rejected(events or []), records_dropped=_dropped(events or []),
        steps=step_table(timeline, steps, factors),
        holistic=_holistic(gpu, devices, factors, profile, wue), tags=dict(tags or {}),
        power_swings=power_swings(energy.job_power(), steps),
    )


def crosschecked(energy: RunEnergy, steps: pd.DataFrame, gpu_j: float, refuse: bool = True,
                 tokens_per_step: float | None = None,
                 events: Sequence[dict] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The record's parts against each other (olmo_green/crosscheck): the steps to use, and the
    findings, one line each (report notes them; --verify fails on them). `refuse`: a device
    counted twice (a copied chunk, altered), samples its node's sensors event contradicts or
    samples from when no meter of their node ran are an error rather than a finding.
    `tokens_per_step`: config.yaml's (efficiency.record_tokens_per_step), to hold the train rows'
    tokens against."""
    checks = [n.checks for n in energy.nodes]
    shared = crosscheck.shared_devices(energy.nodes) + sensor_findings(events or [], energy.nodes) \
        + lifespan_findings(events or [], energy.nodes, windows.sampling_interval_s(energy))
    # No figure can be right: which copy is the run's is unknown; which of counter and power lies.
    unknowable = shared + crosscheck.disputed_findings(checks)
    if unknowable and refuse:
        more = f" (and {len(unknowable) - 1} more)" if len(unknowable) > 1 else ""
        raise InputFileError(unknowable[0] + more)
    apart = windows.disjoint_finding(energy, steps)  # no window near the telemetry: no phase is known
    if apart and refuse:
        raise InputFileError(apart)
    steps = windows.measured_steps(energy, steps)  # rows after the last sample: measured by nothing
    steps, step_lines = crosscheck.checked_steps(steps, gpu_j, crosscheck.repaired(checks),
                                                 energy.timeline())
    steps, token_lines = crosscheck.checked_tokens(steps, tokens_per_step)
    step_lines += token_lines
    return steps, (crosscheck.counter_findings(checks) + implausible_power_lines(energy.nodes)
                   + energy.duplicates + shared
                   + ([energy.contradiction] if energy.contradiction else []) + ([apart] if apart else [])
                   + step_lines)


def config_findings(run_dir: str | Path) -> list[str]:
    """config.yaml as `report` reads it (its settings and resolved profile checked): what the
    report refuses in one line, --verify names too, beside its other findings."""
    try:
        config = RunConfig.load(run_dir)
        resolved = config.profile(str(Path(run_dir) / rr.CONFIG_FILE)) if config is not None else None
    except GreenError as refused:
        return [str(refused).splitlines()[0]]
    named = config.train.hardware if config is not None and config.has("hardware") else None
    # A built-in name resolves to the profile of that name when the run starts (load_profile), so
    # the two disagree only where one was edited; a YAML path's profile names itself.
    if resolved is not None and named in {p.name for p in list_profiles()} and resolved.name != named:
        return [f"{Path(run_dir) / rr.CONFIG_FILE}: hardware is {named!r} but resolved_hardware, the profile "
                f"the run used, is {resolved.name!r}: one of them was edited (the report uses "
                "resolved_hardware)"]
    return []


def record_findings(run_dir: str | Path) -> list[str]:
    """`report --verify`'s cross-checks of one run, from its summaries (not saved)."""
    refused = config_findings(run_dir)
    if refused:  # the settings the summaries are read with cannot be trusted: nothing else is asked
        return refused
    energy = run_energy(run_dir, save=False)
    gpus = [c for c in energy.devices if c.domain in GPU_DOMAINS]
    gpu_j = sum(c.total_j for c in gpus)
    steps = clean_steps(rr.read_steps(Path(run_dir)))
    events = rr.read_events(run_dir)
    return (crosschecked(energy, steps, gpu_j, refuse=False, tokens_per_step=record_tokens_per_step(run_dir),
                         events=events)[1]  # report: run_mfu's note
            + mfu_findings(steps, record_flops_per_peak(run_dir)) + steps_findings(steps)
            + package_findings(_config_profile(Path(run_dir)), gpus)
            + gap_findings(contradicted_gaps(events, energy.nodes)))


def _record_notes(energy: RunEnergy) -> list[str]:
    """Chunks that could not be read, and rows skipped inside readable ones."""
    notes = []
    if energy.unreadable:
        notes.append(f"{len(energy.unreadable)} sample chunk(s) could not be read and are left out "
                     f"({'; '.join(energy.unreadable)}): their nodes' energy is incomplete; a counter still "
                     "measures across the missing stretch, integrated power counts it as a gap (in the band)")
    if energy.distrusted:
        notes.append(f"{len(energy.distrusted)} stored chunk summary(ies) contradicted themselves "
                     f"({'; '.join(energy.distrusted)}): edited or damaged, so those chunks were "
                     "summarised again from their samples; `report --verify` names what differed")
    if energy.bad_rows:
        notes.append(f"{energy.bad_rows:,} unreadable sample row(s) skipped (torn or garbled lines, text "
                     "in a numeric column, an infinite, negative or absurd reading, no device, or a time "
                     "that is not UNIX seconds)")
    return notes


def account_run(run_dir: str | Path, energy: RunEnergy | None = None, **carbon_options) -> RunAccount:
    """The account of a run directory. Options: hardware, pue, intensity_kg_per_kwh, country,
    intensity_series (CarbonOptions); the profile defaults to the run's config.yaml.

    Energy comes from the chunk summaries (built and saved on first read where missing).
    """
    run_dir = Path(run_dir)
    if not rr.is_run_dir(run_dir):
        raise InputFileError(f"{run_dir}: not a run directory (no config.yaml, steps.csv or telemetry/); "
                             "pass a folder written by `olmo-green train`, or --trace FILE")
    options = CarbonOptions(**carbon_options)
    profile = options_profile(options, run_dir)
    factors = resolve_factors(options, profile)  # a bad option fails before any file is read
    energy = run_energy(run_dir) if energy is None else energy  # the dashboard passes what it read
    if not energy.devices:
        raise InputFileError(f"{run_dir / rr.TELEMETRY_DIR}: no samples; was the run's telemetry on?")
    steps = rr.read_steps(run_dir)
    account = account_energy(energy, name=run_dir.resolve().name, path=str(run_dir), factors=factors,
                             profile=profile, steps=steps, events=rr.read_events(run_dir),
                             wue=options.wue, tags=run_tags(run_dir),
                             tokens_per_step=record_tokens_per_step(run_dir))
    account.mfu, account.mfu_note = run_mfu(profile, account, clean_steps(steps),
                                            record_flops_per_peak(run_dir))
    sampling_note = record_settings(run_dir).sampling_note  # a slow but honest sampler (crosscheck/settings)
    account.notes += [sampling_note] if sampling_note else []
    return account
