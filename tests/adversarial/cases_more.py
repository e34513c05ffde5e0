"""Hostile paths, and the commands other than `report`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.adversarial.harness import HANG_S, Case, Ctx, close, gpu_j_from_chunks, report_json


def _one_run(c: Ctx) -> bool:
    data = json.loads(c.stdout)
    return len(data["runs"]) == 1 and close(
        data["runs"][0]["gpu_energy_mwh"] * 3.6e9, gpu_j_from_chunks(c.run)
    )


def _link(c: Ctx) -> None:
    (c.tmp / "alias").symlink_to(c.run)


def path_cases() -> list[Case]:
    cases = []
    for cmd in ("report", "dashboard", "model-card"):
        for target in (
            "steps.csv",
            "config.yaml",
            "telemetry/vm.000000.parquet",
            "telemetry/vm.summary.parquet",
            "events.jsonl",
        ):
            cases.append(
                Case(
                    f"{cmd}-o-into-{target.replace('/', '-')}",
                    lambda c, m=cmd, t=target: [m, c.run, "-o", c.run / t],
                    None,
                    None,
                    (target.split("/")[-1], "record"),
                )
            )
        cases.append(
            Case(
                f"{cmd}-o-through-symlink",
                lambda c, m=cmd: [m, c.run, "-o", c.tmp / "alias" / "steps.csv"],
                _link,
                None,
                ("steps.csv", "record"),
            )
        )
        cases.append(
            Case(
                f"{cmd}-o-dotdot",
                lambda c, m=cmd: [m, c.run, "-o", c.run / "telemetry" / ".." / "steps.csv"],
                None,
                None,
                ("steps.csv", "record"),
            )
        )
        # a missing parent folder: made (the file is then written and readable) or refused by name
        cases.append(
            Case(
                f"{cmd}-o-missing-folder",
                lambda c, m=cmd: [m, c.run, "-o", c.tmp / "no" / "where.x"],
                None,
                lambda c: (c.tmp / "no" / "where.x").stat().st_size > 0,
                ("no/where", "where.x"),
            )
        )
        cases.append(
            Case(
                f"{cmd}-o-is-directory",
                lambda c, m=cmd: [m, c.run, "-o", c.tmp],
                None,
                None,
                (str(c) for c in ("director", "-o")),
            )
        )
        cases.append(
            Case(
                f"{cmd}-run-missing",
                lambda c, m=cmd: [m, c.tmp / "ghost"],
                None,
                None,
                ("ghost",),
                record=False,
            )
        )
        cases.append(
            Case(
                f"{cmd}-run-is-file",
                lambda c, m=cmd: [m, c.tmp / "f.txt"],
                lambda c: (c.tmp / "f.txt").write_text("hi"),
                None,
                ("f.txt",),
                record=False,
            )
        )
        cases.append(
            Case(
                f"{cmd}-run-empty-folder",
                lambda c, m=cmd: [m, c.tmp / "empty"],
                lambda c: (c.tmp / "empty").mkdir(),
                None,
                ("empty",),
                record=False,
            )
        )
    cases.append(
        Case(
            "report-same-run-twice",
            lambda c: ["report", c.run, c.run, "--format", "json"],
            None,
            _one_run,
            valid=True,
        )
    )
    cases.append(
        Case(
            "report-run-and-symlink",
            lambda c: ["report", c.run, c.tmp / "alias", "--format", "json"],
            _link,
            _one_run,
            valid=True,
        )
    )
    cases.append(
        Case(
            "report-newline-in-name",
            lambda c: ["report", c.tmp / "a\nb", "--format", "json"],
            lambda c: c.run.rename(c.tmp / "a\nb"),
            lambda c: report_json(c)["gpu_energy_mwh"] > 0,
            record=True,
        )
    )
    cases.append(
        Case(
            "dashboard-o-dash",
            lambda c: ["dashboard", c.run, "-o", "-"],
            None,
            lambda c: "<html" in c.stdout.lower() and not os.path.exists("-"),
            ("-o",),
        )
    )
    cases.append(
        Case(
            "dashboard-nodes-nomatch",
            lambda c: ["dashboard", c.run, "--nodes", "zz*", "-o", c.tmp / "d.html"],
            None,
            None,
            ("zz*",),
        )
    )
    cases.append(
        Case(
            "model-card-o-readme-exists",
            lambda c: ["model-card", c.run, "-o", c.tmp / "README.md"],
            lambda c: (c.tmp / "README.md").write_text("# Mine\nprecious text\n"),
            lambda c: "precious text" in (c.tmp / "README.md").read_text(),
            ("README.md",),
        )
    )
    cases.append(
        Case(
            "model-card-valid",
            lambda c: ["model-card", c.run],
            None,
            lambda c: "co2_eq_emissions" in c.stdout,
            valid=True,
        )
    )
    return cases


def _yaml(text: str):
    return lambda c: (c.tmp / "m.yaml").write_text(text)


def _tiny_yaml(**changes):
    """The tiny preset as a model YAML, with `changes` (hostile values) applied."""

    def setup(c: Ctx) -> None:
        import yaml

        from model.config import OLMoConfig

        data = {**OLMoConfig.from_preset("tiny").to_dict(), **changes}
        (c.tmp / "m.yaml").write_text(yaml.safe_dump(data))

    return setup


def _est_linear(c: Ctx) -> bool:
    """The estimate's energy is its device-hours at its power; its FLOPs are tokens x FLOPs/token."""
    r = json.loads(c.stdout)["runs"][0]
    return (
        close(r["gpu_energy_mwh"] * 3.6e9, r["device_hours"] * 3600 * r["power_per_device_w"], 1e-6)
        and close(r["flops"], 1e9 * r["flops_per_token"], 1e-9)
        and r["mfu"] == 0.47
    )


def estimate_cases() -> list[Case]:
    base = ["estimate", "--model", "olmo-1b", "--hardware", "h100"]
    bad = {
        "tokens-negative": ["--tokens", "-1"],
        "tokens-zero": ["--tokens", "0"],
        "tokens-nan": ["--tokens", "nan"],
        "tokens-inf": ["--tokens", "inf"],
        "tokens-text": ["--tokens", "many"],
        "tokens-enormous": ["--tokens", "1e300"],
        "mfu-zero": ["--tokens", "1e9", "--mfu", "0"],
        "mfu-percent": ["--tokens", "1e9", "--mfu", "45"],
        "mfu-negative": ["--tokens", "1e9", "--mfu", "-0.4"],
        "mfu-nan": ["--tokens", "1e9", "--mfu", "nan"],
        "pue-zero": ["--tokens", "1e9", "--pue", "0"],
        "intensity-negative": ["--tokens", "1e9", "--intensity", "-2"],
        "wue-nan": ["--tokens", "1e9", "--wue", "nan"],
    }
    cases = [
        Case(f"estimate-{k}", lambda c, a=a: [*base, *a], None, None, (k.split("-")[0],), record=False)
        for k, a in bad.items()
    ]
    cases.append(
        Case(
            "estimate-hardware-unknown",
            lambda c: ["estimate", "--model", "olmo-1b", "--tokens", "1e9", "--hardware", "nope"],
            None,
            None,
            ("nope",),
            record=False,
        )
    )
    cases.append(
        Case(
            "estimate-model-unknown",
            lambda c: ["estimate", "--model", "olmo-99b", "--tokens", "1e9", "--hardware", "h100"],
            None,
            None,
            ("olmo-99b",),
            record=False,
        )
    )
    yamls = {
        "python-object": "!!python/object/apply:os.system ['echo pwned']\n",
        "syntax-error": "d_model: [1, 2\n",
        "list": "- 1\n- 2\n",
        "empty": "",
        "incomplete": "d_model: 64\nn_layers: 2\nn_heads: 2\n",
        "binary": "\x00\x01\x02\xff",
    }
    for k, text in yamls.items():
        cases.append(
            Case(
                f"estimate-yaml-{k}",
                lambda c: ["estimate", "--model", c.tmp / "m.yaml", "--tokens", "1e9", "--hardware", "h100"],
                _yaml(text),
                None,
                ("m.yaml",),
                record=False,
            )
        )
    hostile = {
        "string-layers": {"n_layers": "two"},
        "negative-width": {"d_model": -64},
        "enormous-width": {"d_model": 10**30},
        "float-heads": {"n_heads": 2.5},
        "zero-layers": {"n_layers": 0},
        "unknown-key": {"n_layerz": 2},
    }
    for k, changes in hostile.items():
        cases.append(
            Case(
                f"estimate-yaml-{k}",
                lambda c: ["estimate", "--model", c.tmp / "m.yaml", "--tokens", "1e9", "--hardware", "h100"],
                _tiny_yaml(**changes),
                None,
                ("m.yaml",),
                record=False,
            )
        )
    cases.append(
        Case(
            "estimate-valid",
            lambda c: [*base, "--tokens", "1e9", "--format", "json"],
            None,
            _est_linear,
            record=False,
            valid=True,
        )
    )
    return cases


def other_cases() -> list[Case]:
    cases = [
        Case("hardware-unknown", lambda c: ["hardware", "nope"], None, None, ("nope",), record=False),
        Case(
            "hardware-yaml-garbage",
            lambda c: ["hardware", c.tmp / "h.yaml"],
            lambda c: (c.tmp / "h.yaml").write_text("pue: [\n"),
            None,
            ("h.yaml",),
            record=False,
        ),
        Case(
            "hardware-yaml-list",
            lambda c: ["hardware", c.tmp / "h.yaml"],
            lambda c: (c.tmp / "h.yaml").write_text("- 1\n"),
            None,
            ("h.yaml",),
            record=False,
        ),
        Case(
            "hardware-valid",
            lambda c: ["hardware", "lumi"],
            None,
            lambda c: "lumi" in c.stdout.lower(),
            record=False,
            valid=True,
        ),
        Case(
            "sensors-hardware-unknown",
            lambda c: ["sensors", "--hardware", "nope"],
            None,
            None,
            ("nope",),
            record=False,
        ),
        Case(
            "sensors-probe-negative",
            lambda c: ["sensors", "--simulate", "--hardware", "lumi", "--probe-seconds", "-1"],
            None,
            None,
            ("probe",),
            record=False,
        ),
        Case(
            "sensors-probe-nan",
            lambda c: ["sensors", "--simulate", "--hardware", "lumi", "--probe-seconds", "nan"],
            None,
            None,
            ("probe",),
            record=False,
        ),
        Case(
            "sensors-probe-enormous",
            lambda c: ["sensors", "--simulate", "--hardware", "lumi", "--probe-seconds", "1e9"],
            None,
            None,
            ("probe",),
            record=False,
        ),
        Case(
            "sensors-simulate-valid",
            lambda c: ["sensors", "--simulate", "--hardware", "lumi"],
            None,
            lambda c: "simulated" in c.stdout.lower() or "modelled" in c.stdout.lower(),
            record=False,
            valid=True,
        ),
    ]
    prep = {
        "empty": b"",
        "binary": b"\x00\xff" * 100,
        "jsonl-broken": b'{"text": "hi"}\n{"text": \n',
        "jsonl-no-text": b'{"body": "hi"}\n',
    }
    for k, data in prep.items():
        name = "in.jsonl" if k.startswith("jsonl") else "in.txt"
        # binary bytes: the byte-level tokenizer may take them (a file of tokens), or refuse by name
        good = (lambda c: (c.tmp / "out" / "input_ids.npy").stat().st_size > 0) if k == "binary" else None
        cases.append(
            Case(
                f"prepare-{k}",
                lambda c, n=name: ["prepare-data", c.tmp / n, "--out", c.tmp / "out"],
                lambda c, n=name, d=data: (c.tmp / n).write_bytes(d),
                good,
                (name,),
                record=False,
            )
        )
    cases += [
        Case(
            "prepare-missing",
            lambda c: ["prepare-data", c.tmp / "no.txt", "--out", c.tmp / "out"],
            None,
            None,
            ("no.txt",),
            record=False,
        ),
        Case(
            "prepare-out-is-file",
            lambda c: ["prepare-data", c.tmp / "in.txt", "--out", c.tmp / "in.txt"],
            lambda c: (c.tmp / "in.txt").write_text("hello world\n"),
            None,
            ("in.txt",),
            record=False,
        ),
        Case(
            "prepare-out-into-record",
            lambda c: ["prepare-data", c.tmp / "in.txt", "--out", c.run],
            lambda c: (c.tmp / "in.txt").write_text("hello world\n"),
            lambda c: (c.run / "input_ids.npy").stat().st_size > 0,  # beside the record, none of it
            ("run", "record"),
        ),
        Case(
            "prepare-tokenizer-garbage",
            lambda c: [
                "prepare-data",
                c.tmp / "in.txt",
                "--out",
                c.tmp / "out",
                "--tokenizer",
                c.tmp / "tok.json",
            ],
            lambda c: ((c.tmp / "in.txt").write_text("hi\n"), (c.tmp / "tok.json").write_text("{nope"))[0],
            None,
            ("tok.json",),
            record=False,
        ),
    ]
    conv = [
        ("config-list", "[1, 2]"),
        ("config-string-layers", '{"model_type": "olmo", "num_hidden_layers": "two"}'),
        ("config-garbage", "{not json"),
        ("config-empty", ""),
    ]
    for k, text in conv:
        cases.append(
            Case(
                f"convert-{k}",
                lambda c: ["convert", "hf-to-olmo", c.tmp / "hf", c.tmp / "dst"],
                lambda c, t=text: (
                    (c.tmp / "hf").mkdir(),
                    (c.tmp / "hf" / "config.json").write_text(t),
                    (c.tmp / "hf" / "model.safetensors").write_bytes(b"\x00" * 64),
                ),
                None,
                ("config.json", "safetensors", "hf"),
                record=False,
            )
        )
    cases += [
        Case(
            "convert-src-missing",
            lambda c: ["convert", "hf-to-olmo", c.tmp / "ghost", c.tmp / "dst"],
            None,
            None,
            ("ghost",),
            record=False,
        ),
        Case(
            "convert-dst-nonempty",
            lambda c: ["convert", "olmo-to-hf", c.run, c.tmp / "dst"],
            lambda c: ((c.tmp / "dst").mkdir(), (c.tmp / "dst" / "keep.txt").write_text("mine")),
            None,
            ("dst",),
            checkpoints=True,
        ),
        Case(
            "convert-no-checkpoint",
            lambda c: ["convert", "olmo-to-hf", c.run, c.tmp / "dst"],
            None,
            None,
            ("checkpoint",),
        ),
        Case(
            "convert-corrupt-checkpoint",
            lambda c: ["convert", "olmo-to-hf", c.run, c.tmp / "dst"],
            lambda c: (c.run / "checkpoints" / "step000004" / "model_optim.pt").write_bytes(b"garbage"),
            None,
            ("model_optim.pt", "step000004"),
            checkpoints=True,
        ),
        Case(
            "convert-dst-into-record",
            lambda c: ["convert", "olmo-to-hf", c.run, c.run / "telemetry"],
            None,
            None,
            ("telemetry", "empty", "exist"),
            checkpoints=True,
        ),
        Case(
            "convert-valid",
            lambda c: ["convert", "olmo-to-hf", c.run, c.tmp / "dst"],
            None,
            lambda c: (c.tmp / "dst" / "config.json").exists() and (c.tmp / "dst" / "README.md").exists(),
            checkpoints=True,
            valid=True,
        ),
    ]
    return cases


def train_cases() -> list[Case]:
    t = ["train", "--hardware", "lumi", "--simulate"]
    bad = {
        "max-steps-negative": (["--max-steps", "-1"], "max_steps"),
        "max-steps-text": (["--max-steps", "four"], "max-steps"),
        "set-run-dir": (["--max-steps", "1", "--set", "run_dir=/tmp/elsewhere"], "run_dir"),
        "set-unknown-key": (["--max-steps", "1", "--set", "optim.nonsense=1"], "nonsense"),
        "set-wrong-type": (["--max-steps", "1", "--set", "optim.lr=fast"], "optim.lr"),
        "set-no-equals": (["--max-steps", "1", "--set", "optim.lr"], "optim.lr"),
        "hardware-unknown": (["--max-steps", "1", "--hardware", "nope"], "nope"),
        "model-unknown": (["--max-steps", "1", "--model", "olmo-99b"], "olmo-99b"),
        "tag-no-equals": (["--max-steps", "1", "--tag", "team"], "team"),
        "save-interval-zero": (["--max-steps", "1", "--save-interval", "0"], "save_interval"),
    }
    cases = [
        Case(
            f"train-{k}", lambda c, a=a: [*t, "--run-dir", c.tmp / "new", *a], None, None, (n,), record=False
        )
        for k, (a, n) in bad.items()
    ]
    cases += [
        Case(
            "train-data-missing",
            lambda c: [*t, "--run-dir", c.tmp / "new", "--max-steps", "1", "--data", c.tmp / "no.npy"],
            None,
            None,
            ("no.npy",),
            record=False,
        ),
        Case(
            "train-data-garbage",
            lambda c: [*t, "--run-dir", c.tmp / "new", "--max-steps", "1", "--data", c.tmp / "input_ids.npy"],
            lambda c: (c.tmp / "input_ids.npy").write_bytes(b"\x00garbage" * 10),
            None,
            ("input_ids.npy",),
            record=False,
        ),
        Case(
            "train-run-dir-is-file",
            lambda c: [*t, "--run-dir", c.tmp / "f", "--max-steps", "1"],
            lambda c: (c.tmp / "f").write_text("x"),
            None,
            ("f",),
            record=False,
        ),
        Case(
            "train-into-existing-record",
            lambda c: [*t, "--run-dir", c.run, "--max-steps", "4"],
            None,
            None,
            ("resume", "exists", "run"),
            subprocess=True,
            checkpoints=True,
        ),
        Case(
            "train-concurrent-same-dir",
            lambda c: [*t, "--run-dir", c.tmp / "r", "--max-steps", "2"],
            _hold_lock,
            _second_ok,
            ("lock", "another", "running", "in use"),
            record=False,
            subprocess=True,
        ),
        Case(
            "train-killed-then-report",
            lambda c: ["report", c.tmp / "k", "--format", "json"],
            _killed_run,
            _killed_ok,
            ("k", "telemetry", "incomplete", "no samples", "steps"),
            record=False,
            subprocess=True,
        ),
    ]
    return cases


def _hold_lock(c: Ctx) -> None:
    """Start one train on a run directory and leave it running while the case starts a second."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "olmo_green.cli",
            "train",
            "--hardware",
            "lumi",
            "--simulate",
            "--run-dir",
            str(c.tmp / "r"),
            "--max-steps",
            "200",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    c.extra["first"] = proc
    deadline = time.time() + HANG_S
    while not (c.tmp / "r" / "steps.csv").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)


def _second_ok(c: Ctx) -> bool:
    return False  # two trains writing one run directory at once: exit 0 for the second is wrong


def _killed_run(c: Ctx) -> None:
    """A train SIGKILLed midway: its record has whatever was flushed."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "olmo_green.cli",
            "train",
            "--hardware",
            "lumi",
            "--simulate",
            "--run-dir",
            str(c.tmp / "k"),
            "--max-steps",
            "500",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + HANG_S
    steps = c.tmp / "k" / "steps.csv"
    while time.time() < deadline and proc.poll() is None:
        if steps.exists() and steps.read_text().count("\n") >= 4:
            break
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _killed_ok(c: Ctx) -> bool:
    """A killed run's report must agree with the raw chunks it left."""
    return close(report_json(c)["gpu_energy_mwh"] * 3.6e9, gpu_j_from_chunks(c.tmp / "k"))
