"""Lies and faults inside one record that another part of the record can be checked against
(issue 24: no wrong figure at exit 0). Each mutation gets two cases: plain `report` must give the
honest figure (read before the edit, from the untouched copy) or refuse in one line naming what
is wrong; `report --verify` must exit 1 naming the contradiction (or, where the edit is within
what the record allows, say "all within")."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from click.testing import CliRunner

from olmo_green.cli import cli
from tests.adversarial.harness import Case, Ctx, close, gpu_j_from_chunks, report_json

CHUNK = "telemetry/vm.000000.parquet"
SUMMARIES = ("vm.summary.parquet", "vm.buckets.parquet", "vm.domains.parquet")


# ---- the honest figures, read off the untouched copy before a case edits it ----------------------


def _report(run: Path) -> dict:
    result = CliRunner().invoke(cli, ["report", str(run), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["runs"][0]


def _honest(c: Ctx) -> None:
    """The untouched copy's figures; and its phases as read off the telemetry alone (steps.csv's
    energy_j cells blanked), the other right answer where a report distrusts the cells."""
    c.extra["truth_j"] = gpu_j_from_chunks(c.run)
    c.extra["honest"] = _report(c.run)
    tele = c.tmp / "telemetry-only"
    shutil.copytree(c.run, tele)
    frame = pd.read_csv(tele / "steps.csv", dtype=str, keep_default_na=False)
    frame["energy_j"] = ""
    frame.to_csv(tele / "steps.csv", index=False)
    c.extra["tele_phases"] = _report(tele)["phases_j"]


def _with_honest(edit: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
    def setup(c: Ctx) -> None:
        _honest(c)
        edit(c)

    return setup


def _total_right(c: Ctx, rel: float = 0.02) -> bool:
    return close(report_json(c)["gpu_energy_mwh"] * 3.6e9, c.extra["truth_j"], rel)


def _repaired_within_band(c: Ctx) -> bool:
    """A counter repaired from power: the truth inside the error band the report states (power
    integration of this sub-second square-wave record differs from the counter by more than the
    2 % of _total_right, and the report says how far it may be off)."""
    r = report_json(c)
    low, high = (v * 3.6e9 for v in r["gpu_energy_band_mwh"])
    return "power_integration" in r["method"] and low <= c.extra["truth_j"] <= high


def _phases_right(c: Ctx) -> bool:
    """The total right, and every phase's energy what the untouched record says: its steps.csv
    cells' or (a report that distrusts the cells) the telemetry's over the same windows, each
    within 1 % of itself and 0.1 % of the run."""
    r, h, tele = report_json(c), c.extra["honest"], c.extra["tele_phases"]
    total = h["gpu_energy_mwh"] * 3.6e9

    def near(k: str, honest: dict) -> bool:
        want = honest.get(k, 0.0)
        return abs(r["phases_j"].get(k, 0.0) - want) <= 0.01 * abs(want) + 1e-3 * total

    keys = set(r["phases_j"]) | set(h["phases_j"])
    return _total_right(c) and all(near(k, h["phases_j"]) or near(k, tele) for k in keys)


def _tokens_right(c: Ctx) -> bool:
    r, h = report_json(c), c.extra["honest"]
    return (
        _phases_right(c)
        and r["tokens"] == h["tokens"]
        and close(r["energy_per_token_j"], h["energy_per_token_j"])
    )


def _mfu_honest(c: Ctx) -> bool:
    """A simulated record ran no GPU of its profile: its honest MFU is none, whatever the cells say."""
    return _phases_right(c) and report_json(c)["mfu"] == c.extra["honest"]["mfu"]


def _hardware_honest(c: Ctx) -> bool:
    r, h = report_json(c), c.extra["honest"]
    return (
        _total_right(c)
        and r["pue"] == h["pue"]
        and r["intensity_kg_per_kwh"] == h["intensity_kg_per_kwh"]
        and r["gpu_type"] == h["gpu_type"]
    )


def _swings_right(c: Ctx) -> bool:
    r, h = report_json(c), c.extra["honest"]
    return _phases_right(c) and close(r["power_swings"]["peak_w"], h["power_swings"]["peak_w"])


def _steps(edit: Callable[[pd.DataFrame], pd.DataFrame | None]) -> Callable[[Ctx], None]:
    """Edit steps.csv as text cells (untouched cells keep their exact digits)."""

    def setup(c: Ctx) -> None:
        path = c.run / "steps.csv"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        out = edit(frame)
        (frame if out is None else out).to_csv(path, index=False)

    return setup


def _scale_energy(phase: str | None, factor: float):
    def edit(f: pd.DataFrame) -> None:
        rows = f.index if phase is None else f.index[f["phase"] == phase]
        for i in rows:
            f.at[i, "energy_j"] = repr(float(f.at[i, "energy_j"]) * factor)

    return edit


def _cell(row: int, column: str, value: str, then=None):
    def edit(f: pd.DataFrame) -> None:
        if then:
            then(f)
        f.at[f.index[row], column] = value

    return edit


def _swap_energy(a: int, b: int):
    def edit(f: pd.DataFrame) -> None:
        f.loc[f.index[a], "energy_j"], f.loc[f.index[b], "energy_j"] = (
            f.at[f.index[b], "energy_j"],
            f.at[f.index[a], "energy_j"],
        )

    return edit


def _shift_times(seconds: float):
    def edit(f: pd.DataFrame) -> None:
        for col in ("time_start_s", "time_end_s"):
            f[col] = [repr(float(v) + seconds) for v in f[col]]

    return edit


def _tokens(factor: int, row: int | None = None):
    def edit(f: pd.DataFrame) -> None:
        rows = f.index[f["tokens"] != ""] if row is None else [f.index[row]]
        for i in rows:
            f.at[i, "tokens"] = str(int(f.at[i, "tokens"]) * factor)

    return edit


def _duplicate_row(row: int):
    return lambda f: pd.concat(
        [f.iloc[: row + 1], f.iloc[row : row + 1], f.iloc[row + 1 :]], ignore_index=True
    )


def _extra_row_after_end(f: pd.DataFrame) -> pd.DataFrame:
    """A fifth train step after the telemetry ends, with its own energy and tokens."""
    last = f.iloc[3].copy()
    end = float(f["time_end_s"].iloc[-1])
    last["step"], last["time_start_s"], last["time_end_s"] = "5", repr(end + 1.0), repr(end + 2.5)
    last["energy_j"] = "3000.0"
    return pd.concat([f, last.to_frame().T], ignore_index=True)


def _mfu(values: list[str]):
    def edit(f: pd.DataFrame) -> None:
        train = f.index[f["phase"] == "train"]
        for i, v in zip(train, values, strict=False):
            f.at[i, "mfu"] = v

    return edit


def _own_attempt(f: pd.DataFrame) -> None:
    """Every train row an honest-looking mfu, the last one moved alone into attempt 1 at 0.9."""
    _mfu(["0.35"] * 4)(f)
    f.at[f.index[3], "attempt"] = "1"
    f.at[f.index[3], "mfu"] = "0.9"


def _attempt_back(f: pd.DataFrame) -> None:
    """Attempt numbers going back in time: step 1 in attempt 1, the rest in attempt 0."""
    _mfu(["0.35"] * 4)(f)
    f.at[f.index[0], "attempt"] = "1"


def _config(edit: Callable[[dict], None]) -> Callable[[Ctx], None]:
    def setup(c: Ctx) -> None:
        path = c.run / "config.yaml"
        data = yaml.safe_load(path.read_text())
        edit(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))

    return setup


def _set(*keys_value):
    *keys, value = keys_value

    def edit(d: dict) -> None:
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value

    return edit


def _chunk(edit: Callable[[pd.DataFrame], pd.DataFrame | None], name: str = CHUNK) -> Callable[[Ctx], None]:
    """Edit the raw chunk (its summaries stay as they were: the reader must notice)."""

    def setup(c: Ctx) -> None:
        path = c.run / CHUNK
        frame = pd.read_parquet(path)
        out = edit(frame)
        (frame if out is None else out).to_parquet(c.run / name, index=False)

    return setup


def _device(f: pd.DataFrame, device: str = "0") -> np.ndarray:
    return ((f["device"] == device) & (f["domain"] == "gpu")).to_numpy()


def _freeze_counter(f: pd.DataFrame) -> None:
    """Device 0's counter stops at its first reading while its power goes on. (Stopped halfway,
    the loss in this sub-second record of square-wave power is within the counter check's stated
    allowance, trapezoid error included; tests/crosscheck covers a halfway stop at real length.)"""
    rows = np.flatnonzero(_device(f))
    f.loc[f.index[rows], "energy_j"] = float(f["energy_j"].iloc[rows[0]])


def _reset_counter(f: pd.DataFrame) -> None:
    """Device 0's counter falls to zero halfway and counts on from there (a driver reload)."""
    rows = np.flatnonzero(_device(f))
    half = rows[len(rows) // 2 :]
    f.loc[f.index[half], "energy_j"] = f["energy_j"].iloc[half].to_numpy() - float(
        f["energy_j"].iloc[half[0]]
    )


def _garbage_counter(f: pd.DataFrame) -> None:
    rows = np.flatnonzero(_device(f))
    f.loc[f.index[rows], "energy_j"] = np.random.default_rng(1).uniform(0, 1e9, len(rows))


def _scale_column(column: str, factor: float, device: str | None = "0"):
    def edit(f: pd.DataFrame) -> None:
        rows = _device(f, device) if device else (f["domain"] == "gpu").to_numpy()
        f.loc[rows, column] = f.loc[rows, column] * factor

    return edit


def _sibling_copy(f: pd.DataFrame) -> pd.DataFrame:
    """Device 0's package energy also written as device 1 (its sibling GCD on the same package)."""
    sib = f[_device(f)].copy()
    sib["device"] = "1"
    return pd.concat([f, sib], ignore_index=True).sort_values("time_s", kind="stable")


def _drop_device(f: pd.DataFrame) -> pd.DataFrame:
    return f[~_device(f, "6")]


def _relabel_node(node: str, shift_s: float = 0.0):
    def edit(f: pd.DataFrame) -> pd.DataFrame:
        g = f.copy()
        g["node"] = node
        g["time_s"] = g["time_s"] + shift_s
        return g

    return edit


def _shifted_same_node(f: pd.DataFrame) -> pd.DataFrame:
    """The chunk's samples again as a second chunk of the same node, half its span later."""
    g = f.copy()
    g["time_s"] = g["time_s"] + (g["time_s"].max() - g["time_s"].min()) / 2
    return g


def _copy_chunk_as(name: str) -> Callable[[Ctx], None]:
    return lambda c: shutil.copyfile(c.run / CHUNK, c.run / "telemetry" / name)


def _summary(which: str, edit: Callable[[pd.DataFrame], pd.DataFrame | None]) -> Callable[[Ctx], None]:
    """Edit a stored summary while the chunk stays intact (and keeps its size, mtime and hash)."""

    def setup(c: Ctx) -> None:
        path = c.run / "telemetry" / which
        frame = pd.read_parquet(path)
        out = edit(frame)
        (frame if out is None else out).to_parquet(path, index=False)

    return setup


def _double_summary(f: pd.DataFrame) -> None:
    for col in ("energy_j", "counter_j", "power_j", "last_value"):
        f[col] = f[col] * 2


def _events(edit: Callable[[list[dict]], list[dict]]) -> Callable[[Ctx], None]:
    def setup(c: Ctx) -> None:
        path = c.run / "events.jsonl"
        events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        path.write_text("".join(json.dumps(e) + "\n" for e in edit(events)))

    return setup


def _strip_counted(events: list[dict]) -> list[dict]:
    for event in events:
        for found in event.get("found", []):
            if isinstance(found, dict):
                found.pop("counted", None)
    return events


def _chunk_span(c: Ctx) -> tuple[float, float]:
    t = pd.read_parquet(c.run / CHUNK)["time_s"]
    return float(t.min()), float(t.max())


def _invent_gap(c: Ctx) -> None:
    """A 2 s gap_start/gap_end pair in the middle of the run, over samples that never stopped."""
    start, end = _chunk_span(c)
    mid = (start + end) / 2
    with (c.run / "events.jsonl").open("a") as out:
        out.write(
            json.dumps({"node": "vm", "kind": "gap_start", "time_s": mid - 1.0, "error": "lost"}) + "\n"
        )
        out.write(
            json.dumps({"node": "vm", "kind": "gap_end", "time_s": mid + 1.0, "duration_s": 2.0}) + "\n"
        )


def _gap_hole(c: Ctx) -> None:
    """The middle fifth of the chunk's samples cut out, no gap event written for it."""
    f = pd.read_parquet(c.run / CHUNK)
    start, end = float(f["time_s"].min()), float(f["time_s"].max())
    low, high = start + 0.4 * (end - start), start + 0.6 * (end - start)
    f[(f["time_s"] < low) | (f["time_s"] > high)].to_parquet(c.run / CHUNK, index=False)


def _sampling(**fields):
    def edit(events: list[dict]) -> list[dict]:
        for e in events:
            if e.get("kind") == "sampling":
                e.update(fields)
        return events

    return edit


# ---- other runs beside this one ---------------------------------------------------------------


def _copy_run(edit_config: Callable[[dict], None] | None = None, then=None) -> Callable[[Ctx], None]:
    def setup(c: Ctx) -> None:
        _honest(c)
        copy = c.tmp / "copy"
        shutil.copytree(c.run, copy)
        if edit_config:
            path = copy / "config.yaml"
            data = yaml.safe_load(path.read_text())
            edit_config(data)
            path.write_text(yaml.safe_dump(data, sort_keys=False))
        if then:
            then(copy)

    return setup


def _once(c: Ctx) -> bool:
    """Two names of one run: the runs listed add up to the one run's energy."""
    runs = json.loads(c.stdout)["runs"]
    total = sum(r["gpu_energy_mwh"] for r in runs) * 3.6e9
    return close(total, c.extra["truth_j"])


def _tagged_copies(c: Ctx) -> None:
    """A copy with its own run_id, both tagged team=a."""
    _copy_run(_set("run_id", "0123456789abcdef0123456789abcdef"))(c)
    for run in (c.run, c.tmp / "copy"):
        path = run / "config.yaml"
        data = yaml.safe_load(path.read_text())
        data["tags"] = {"team": "a"}
        path.write_text(yaml.safe_dump(data, sort_keys=False))


def _by_once(c: Ctx) -> bool:
    """`--by team` of one run given twice: team a's energy is the one run's (md table, kJ or MWh)."""
    lines = c.stdout.split("## By team", 1)
    if len(lines) < 2:
        return False
    row = next((line for line in lines[1].splitlines() if line.startswith("| a ")), "")
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    truth_mwh = c.extra["truth_j"] / 3.6e9
    for cell in cells[1:]:
        try:
            value = float(cell.replace(",", ""))
        except ValueError:
            continue
        if value > 0 and close(value, truth_mwh, 0.01):
            return True
    return False


def _cut_short(copy: Path) -> None:
    """The copy's chunk keeps only its first half of samples (its summaries are dropped)."""
    f = pd.read_parquet(copy / CHUNK)
    f.iloc[: len(f) // 2].to_parquet(copy / CHUNK, index=False)
    for name in SUMMARIES:
        (copy / "telemetry" / name).unlink()


def _telemetry_symlink(c: Ctx) -> None:
    """A second run folder with its own run_id whose telemetry is a symlink to this run's."""
    _honest(c)
    other = c.tmp / "other"
    other.mkdir()
    for name in ("config.yaml", "steps.csv", "events.jsonl"):
        shutil.copyfile(c.run / name, other / name)
    data = yaml.safe_load((other / "config.yaml").read_text())
    data["run_id"] = "0123456789abcdef0123456789abcdef"
    (other / "config.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    (other / "telemetry").symlink_to(c.run / "telemetry")


# ---- the table --------------------------------------------------------------------------------

STEPS = ("steps.csv",)
TOKENS = ("tokens",)
MFU = ("mfu",)
ATTEMPT = ("attempt",)
INTERVAL = ("sampling_interval_s",)
COUNTER = ("counter",)
BOTH, REPORT, VERIFY = ("report", "verify"), ("report",), ("verify",)


def _table() -> dict[str, tuple]:
    """id: (setup, plain report's check, --verify's check (None: it must exit 1), needle, variants)."""
    return {
        # steps.csv's energy_j against the telemetry over the same windows
        "steps-train-x2": (_steps(_scale_energy("train", 2.0)), _phases_right, None, STEPS, BOTH),
        "steps-train-x0.5": (_steps(_scale_energy("train", 0.5)), _phases_right, None, STEPS, BOTH),
        "steps-train-x1.1": (_steps(_scale_energy("train", 1.1)), _phases_right, None, STEPS, VERIFY),
        "steps-all-x10": (_steps(_scale_energy(None, 10.0)), _phases_right, None, STEPS, REPORT),
        "steps-checkpoint-x1000": (
            _steps(_scale_energy("checkpoint", 1000.0)),
            _phases_right,
            None,
            STEPS,
            BOTH,
        ),
        "steps-blank-one-others-x2": (
            _steps(_cell(0, "energy_j", "", _scale_energy("train", 2.0))),
            _phases_right,
            None,
            STEPS,
            REPORT,
        ),
        "steps-negative-one": (_steps(_cell(1, "energy_j", "-3955.0")), _phases_right, None, STEPS, VERIFY),
        "steps-1e308-one": (_steps(_cell(1, "energy_j", "1e308")), _tokens_right, None, STEPS, BOTH),
        "steps-inf-one": (_steps(_cell(1, "energy_j", "inf")), _tokens_right, None, STEPS, BOTH),
        "steps-text-one": (_steps(_cell(1, "energy_j", "lots")), _tokens_right, None, STEPS, BOTH),
        "steps-swap-train-checkpoint": (_steps(_swap_energy(1, 4)), _phases_right, None, STEPS, BOTH),
        "steps-moved-1000s-later": (_steps(_shift_times(1000.0)), _phases_right, None, STEPS, BOTH),
        "steps-duplicated-row": (_steps(_duplicate_row(1)), _tokens_right, None, STEPS, REPORT),
        "steps-row-after-telemetry": (_steps(_extra_row_after_end), _tokens_right, None, STEPS, REPORT),
        # tokens against config.yaml's batch x sequence length (2,048 a step here)
        "steps-tokens-x1000": (_steps(_tokens(1000)), _tokens_right, None, TOKENS, BOTH),
        # mfu cells against their own rows and the config's model and peak
        "mfu-plausible-all": (_steps(_mfu(["0.4"] * 4)), _mfu_honest, None, MFU, BOTH),
        "mfu-0.999-one": (_steps(_mfu(["", "0.999"])), _mfu_honest, None, MFU, VERIFY),
        "mfu-row-own-attempt": (_steps(_own_attempt), _mfu_honest, None, ATTEMPT, BOTH),
        "mfu-attempt-back-in-time": (_steps(_attempt_back), _mfu_honest, None, ATTEMPT, VERIFY),
        # config.yaml against the meter's events, the chunks and its own profile
        "config-interval-0.01": (
            _config(_set("telemetry", "sampling_interval_s", 0.01)),
            _total_right,
            None,
            INTERVAL,
            BOTH,
        ),
        "config-interval-5": (
            _config(_set("telemetry", "sampling_interval_s", 5.0)),
            _total_right,
            None,
            INTERVAL,
            VERIFY,
        ),
        "config-interval-negative": (
            _config(_set("telemetry", "sampling_interval_s", -0.1)),
            _total_right,
            None,
            INTERVAL,
            BOTH,
        ),
        "config-bucket-0": (
            _config(_set("telemetry", "summary_bucket_s", 0.0)),
            _phases_right,
            None,
            ("summary_bucket_s",),
            BOTH,
        ),
        "config-hardware-h100": (
            _config(_set("hardware", "h100")),
            _hardware_honest,
            None,
            ("hardware",),
            BOTH,
        ),
        "config-resolved-tdp-x0.1": (
            _config(_set("resolved_hardware", "package_tdp_w", 56.0)),
            _total_right,
            None,
            ("package_tdp_w",),
            BOTH,
        ),
        "config-run-id-removed": (
            _config(lambda d: d.pop("run_id")),
            _total_right,
            None,
            ("run_id",),
            REPORT,
        ),
        # the telemetry against itself, the profile and steps.csv
        "chunk-copied-as-other-node-file": (
            _copy_chunk_as("vm2.000000.parquet"),
            _total_right,
            None,
            ("vm2.000000", "duplicate"),
            BOTH,
        ),
        "chunk-duplicated-same-node": (
            _copy_chunk_as("vm.000001.parquet"),
            _total_right,
            None,
            ("vm.000001", "duplicate"),
            VERIFY,
        ),
        "chunk-relabelled-other-node": (
            _chunk(_relabel_node("vm2"), "telemetry/vm2.000000.parquet"),
            _total_right,
            None,
            ("vm2", "copied", "duplicate"),
            BOTH,
        ),
        "chunk-shifted-half-same-node": (
            _chunk(_shifted_same_node, "telemetry/vm.000001.parquet"),
            _total_right,
            None,
            ("vm.000001", "overlap", "same time", "copied"),
            BOTH,
        ),
        "chunk-counter-frozen": (
            _chunk(_freeze_counter),
            _repaired_within_band,
            None,
            COUNTER,
            BOTH,
        ),
        "chunk-counter-reset": (_chunk(_reset_counter), _total_right, None, COUNTER, REPORT),
        "chunk-counter-garbage": (
            _chunk(_garbage_counter),
            _repaired_within_band,
            None,
            COUNTER,
            BOTH,
        ),
        "chunk-power-x10": (_chunk(_scale_column("power_w", 10.0)), _total_right, None, ("power",), BOTH),
        # power scaled under the 3x TDP limit beside an intact counter: the counter kept (a moving
        # counter is the better measurement), or refused where the two stay apart over the chunk
        "chunk-power-x1.5": (_chunk(_scale_column("power_w", 1.5)), _total_right, None, COUNTER, REPORT),
        "chunk-power-x0.5": (_chunk(_scale_column("power_w", 0.5)), _total_right, None, COUNTER, REPORT),
        "chunk-sibling-gcd-copy": (_chunk(_sibling_copy), _total_right, None, ("vm/1", "package"), BOTH),
        "chunk-device-dropped": (
            _chunk(_drop_device),
            _total_right,
            None,
            ("vm/6", "device 6", "sensors"),
            BOTH,
        ),
        "chunk-hole-no-gap-event": (_gap_hole, _total_right, None, ("gap",), REPORT),
        # stored summaries against the intact chunk
        "summary-doubled": (
            _summary("vm.summary.parquet", _double_summary),
            _phases_right,
            None,
            ("summar",),
            BOTH,
        ),
        "summary-device-row-dropped": (
            _summary("vm.summary.parquet", lambda f: f.iloc[1:]),
            _phases_right,
            None,
            ("summar",),
            BOTH,
        ),
        "domains-doubled": (
            _summary("vm.domains.parquet", _scale_column_all("energy_j", 2.0, "power_w", "ceiling_w")),
            _swings_right,
            None,
            ("domains",),
            REPORT,
        ),
        # events.jsonl against the chunks and the config
        "events-gap-invented": (_invent_gap, _phases_right, None, ("gap",), BOTH),
        # the sensors event the chunks' mark promises, removed or stripped of its device list
        "events-sensors-removed": (
            _events(lambda es: [e for e in es if e.get("kind") != "sensors"]),
            None,
            None,
            ("sensors event",),
            BOTH,
        ),
        "events-counted-removed": (_events(_strip_counted), None, None, ("sensors event",), BOTH),
        "events-sampling-removed": (
            _events(lambda es: [e for e in es if e.get("kind") != "sampling"]),
            _phases_right,
            None,
            (),
            REPORT,
        ),
        "events-sampling-requested-1": (
            _events(_sampling(requested_interval_s=1.0)),
            _phases_right,
            None,
            INTERVAL,
            VERIFY,
        ),
    }


def _scale_column_all(column: str, factor: float, *more: str):
    def edit(f: pd.DataFrame) -> None:
        for col in (column, *more):
            f[col] = f[col] * factor

    return edit


def _multi_table() -> dict[str, tuple]:
    """Two names of one run in one report: (setup, argv after `report`, check, needle)."""
    a = lambda c: [c.run, c.tmp / "copy"]  # noqa: E731
    return {
        "two-copies": (_copy_run(), a, _once, ("same run", "copy")),
        "two-copies-run-id-edited": (
            _copy_run(_set("run_id", "0123456789abcdef0123456789abcdef")),
            a,
            _once,
            ("same run", "copy"),
        ),
        "two-copies-run-id-removed": (_copy_run(lambda d: d.pop("run_id")), a, _once, ("same run", "copy")),
        "two-copies-steps-edited": (
            _copy_run(_set("run_id", "0123456789abcdef0123456789abcdef"), lambda p: _steps_in(p)),
            a,
            _once,
            ("same run", "copy", "steps.csv"),
        ),
        "copy-cut-short": (
            _copy_run(_set("run_id", "0123456789abcdef0123456789abcdef"), _cut_short),
            a,
            _once,
            ("copy", "same", "cut short", "shorter"),
        ),
        "telemetry-symlinked-other-run": (
            _telemetry_symlink,
            lambda c: [c.run, c.tmp / "other"],
            _once,
            ("same run", "telemetry", "other"),
        ),
    }


def _steps_in(run: Path) -> None:
    frame = pd.read_csv(run / "steps.csv", dtype=str, keep_default_na=False)
    _scale_energy("train", 3.0)(frame)
    frame.to_csv(run / "steps.csv", index=False)


XFAIL: dict[str, str] = {
    "xc-report-chunk-counter-frozen": (
        "a sub-second record: the counter check's allowance for a 0.7 s window (two sample spacings at"
        " peak power, trapezoid error of square-wave power) can exceed the whole device's 220 J, so a "
        "counter at 0 J stands (report -25 %, inside its +-30 % band only sometimes); a frozen counter "
        "in 10 s windows is repaired (tests/crosscheck/test_findings.py finding 1)"
    ),
    "xc-verify-chunk-counter-frozen": (
        "the same sub-second limit: --verify names steps.csv rather than the counter where the "
        "counter check stays within its allowance"
    ),
}


# Known limits whose outcome varies with the simulated record (trained afresh each session).
DEPENDS_ON_RECORD = {"xc-report-chunk-counter-frozen", "xc-verify-chunk-counter-frozen"}


def crosscheck_cases() -> list[Case]:
    cases = []
    for key, (setup, good, verify_good, needle, variants) in _table().items():
        if "report" in variants:
            cases.append(
                Case(
                    f"xc-report-{key}",
                    lambda c: ["report", c.run, "--format", "json"],
                    _with_honest(setup),
                    good,
                    needle,
                    xfail=XFAIL.get(f"xc-report-{key}"),
                    xfail_strict=f"xc-report-{key}" not in DEPENDS_ON_RECORD,
                )
            )
        if "verify" in variants:
            cases.append(
                Case(
                    f"xc-verify-{key}",
                    lambda c: ["report", c.run, "--verify"],
                    _with_honest(setup),
                    verify_good,
                    needle,
                    multi=True,
                    xfail=XFAIL.get(f"xc-verify-{key}"),
                    xfail_strict=f"xc-verify-{key}" not in DEPENDS_ON_RECORD,
                )
            )
    for key, (setup, runs, good, needle) in _multi_table().items():
        cases.append(
            Case(
                f"xc-report-{key}",
                lambda c, r=runs: ["report", *r(c), "--format", "json"],
                setup,
                good,
                needle,
                xfail=XFAIL.get(f"xc-report-{key}"),
            )
        )
    cases.append(
        Case(
            "xc-report-two-copies-by-tag",
            lambda c: ["report", c.run, c.tmp / "copy", "--by", "team"],
            _tagged_copies,
            _by_once,
            ("same run", "copy"),
            xfail=XFAIL.get("xc-report-two-copies-by-tag"),
        )
    )
    return cases
