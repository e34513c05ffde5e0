"""Hostile paths, and the commands other than `report`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from tests.adversarial.harness import (
    HANG_S,
    Case,
    Ctx,
    close,
    gpu_j_from_chunks,
    refusal,
    report_json,
    train_argv,
)


def _one_run(c: Ctx) -> bool:
    data = json.loads(c.stdout)
    return len(data["runs"]) == 1 and close(
        data["runs"][0]["gpu_energy_mwh"] * 3.6e9, gpu_j_from_chunks(c.run)
    )


def _link(c: Ctx) -> None:
    (c.tmp / "alias").symlink_to(c.run)


def _o_cases(cmd: str) -> list[Case]:
    """`cmd RUN -o PLACE` where PLACE is a file of the record, or a path that cannot be written."""
    cases = [
        refusal(
            f"{cmd}-o-into-{target.replace('/', '-')}",
            lambda c, t=target: [cmd, c.run, "-o", c.run / t],
            (target.split("/")[-1], "record"),
        )
        for target in (
            "steps.csv",
            "config.yaml",
            "telemetry/vm.000000.parquet",
            "telemetry/vm.summary.parquet",
            "events.jsonl",
        )
    ]
    through = {
        "through-symlink": (lambda c: c.tmp / "alias" / "steps.csv", _link),
        "dotdot": (lambda c: c.run / "telemetry" / ".." / "steps.csv", None),
    }
    cases += [
        refusal(f"{cmd}-o-{k}", lambda c, p=place: [cmd, c.run, "-o", p(c)], ("steps.csv", "record"), setup)
        for k, (place, setup) in through.items()
    ]
    # a missing parent folder: made (the file is then written and readable) or refused by name
    cases.append(
        Case(
            f"{cmd}-o-missing-folder",
            lambda c: [cmd, c.run, "-o", c.tmp / "no" / "where.x"],
            None,
            lambda c: (c.tmp / "no" / "where.x").stat().st_size > 0,
            ("no/where", "where.x"),
        )
    )
    cases.append(refusal(f"{cmd}-o-is-directory", lambda c: [cmd, c.run, "-o", c.tmp], ("director", "-o")))
    return cases


def _run_cases(cmd: str) -> list[Case]:
    """`cmd PLACE` where PLACE is not a run directory: missing, a file, an empty folder."""
    places = {
        "missing": ("ghost", None),
        "is-file": ("f.txt", lambda c: (c.tmp / "f.txt").write_text("hi")),
        "empty-folder": ("empty", lambda c: (c.tmp / "empty").mkdir()),
    }
    return [
        refusal(f"{cmd}-run-{k}", lambda c, n=name: [cmd, c.tmp / n], (name,), setup, record=False)
        for k, (name, setup) in places.items()
    ]


def path_cases() -> list[Case]:
    cases = []
    for cmd in ("report", "dashboard", "model-card"):
        cases += _o_cases(cmd) + _run_cases(cmd)
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
        refusal(
            "dashboard-nodes-nomatch",
            lambda c: ["dashboard", c.run, "--nodes", "zz*", "-o", c.tmp / "d.html"],
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


def _write(name: str, text: str):
    """A setup that writes `text` to the file `name` in the case's folder."""
    return lambda c: (c.tmp / name).write_text(text)


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
        refusal(f"estimate-{k}", lambda c, a=a: [*base, *a], (k.split("-")[0],), record=False)
        for k, a in bad.items()
    ]
    unknown = {"hardware": ("olmo-1b", "nope", "nope"), "model": ("olmo-99b", "h100", "olmo-99b")}
    cases += [
        refusal(
            f"estimate-{k}-unknown",
            lambda c, m=model, h=hardware: ["estimate", "--model", m, "--tokens", "1e9", "--hardware", h],
            (needle,),
            record=False,
        )
        for k, (model, hardware, needle) in unknown.items()
    ]
    yamls = {
        "python-object": _write("m.yaml", "!!python/object/apply:os.system ['echo pwned']\n"),
        "syntax-error": _write("m.yaml", "d_model: [1, 2\n"),
        "list": _write("m.yaml", "- 1\n- 2\n"),
        "empty": _write("m.yaml", ""),
        "incomplete": _write("m.yaml", "d_model: 64\nn_layers: 2\nn_heads: 2\n"),
        "binary": _write("m.yaml", "\x00\x01\x02\xff"),
        "string-layers": _tiny_yaml(n_layers="two"),
        "negative-width": _tiny_yaml(d_model=-64),
        "enormous-width": _tiny_yaml(d_model=10**30),
        "float-heads": _tiny_yaml(n_heads=2.5),
        "zero-layers": _tiny_yaml(n_layers=0),
        "unknown-key": _tiny_yaml(n_layerz=2),
    }
    rest = ["--tokens", "1e9", "--hardware", "h100"]
    cases += [
        refusal(
            f"estimate-yaml-{k}",
            lambda c: ["estimate", "--model", c.tmp / "m.yaml", *rest],
            ("m.yaml",),
            setup,
            record=False,
        )
        for k, setup in yamls.items()
    ]
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
    sensors = ["sensors", "--simulate", "--hardware", "lumi"]
    cases = [
        refusal("hardware-unknown", lambda c: ["hardware", "nope"], ("nope",), record=False),
        *(
            refusal(
                f"hardware-yaml-{k}",
                lambda c: ["hardware", c.tmp / "h.yaml"],
                ("h.yaml",),
                _write("h.yaml", text),
                record=False,
            )
            for k, text in (("garbage", "pue: [\n"), ("list", "- 1\n"))
        ),
        Case(
            "hardware-valid",
            lambda c: ["hardware", "lumi"],
            None,
            lambda c: "lumi" in c.stdout.lower(),
            record=False,
            valid=True,
        ),
        refusal(
            "sensors-hardware-unknown", lambda c: ["sensors", "--hardware", "nope"], ("nope",), record=False
        ),
        *(
            refusal(
                f"sensors-probe-{k}",
                lambda c, v=v: [*sensors, "--probe-seconds", v],
                ("probe",),
                record=False,
            )
            for k, v in (("negative", "-1"), ("nan", "nan"), ("enormous", "1e9"))
        ),
        Case(
            "sensors-simulate-valid",
            lambda c: sensors,
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
        refusal(
            "prepare-missing",
            lambda c: ["prepare-data", c.tmp / "no.txt", "--out", c.tmp / "out"],
            ("no.txt",),
            record=False,
        ),
        refusal(
            "prepare-out-is-file",
            lambda c: ["prepare-data", c.tmp / "in.txt", "--out", c.tmp / "in.txt"],
            ("in.txt",),
            _write("in.txt", "hello world\n"),
            record=False,
        ),
        Case(
            "prepare-out-into-record",
            lambda c: ["prepare-data", c.tmp / "in.txt", "--out", c.run],
            _write("in.txt", "hello world\n"),
            lambda c: (c.run / "input_ids.npy").stat().st_size > 0,  # beside the record, none of it
            ("run", "record"),
        ),
        refusal(
            "prepare-tokenizer-garbage",
            lambda c: [
                "prepare-data",
                c.tmp / "in.txt",
                "--out",
                c.tmp / "out",
                "--tokenizer",
                c.tmp / "tok.json",
            ],
            ("tok.json",),
            lambda c: ((c.tmp / "in.txt").write_text("hi\n"), (c.tmp / "tok.json").write_text("{nope"))[0],
            record=False,
        ),
    ]
    return cases + _convert_cases()


def _hf_folder(config_text: str):
    """A Hugging Face folder whose config.json holds `config_text`, beside a token weights file."""
    return lambda c: (
        (c.tmp / "hf").mkdir(),
        (c.tmp / "hf" / "config.json").write_text(config_text),
        (c.tmp / "hf" / "model.safetensors").write_bytes(b"\x00" * 64),
    )


def _convert_cases() -> list[Case]:
    conv = [
        ("config-list", "[1, 2]"),
        ("config-string-layers", '{"model_type": "olmo", "num_hidden_layers": "two"}'),
        ("config-garbage", "{not json"),
        ("config-empty", ""),
    ]
    to_olmo = ["convert", "hf-to-olmo"]
    cases = [
        refusal(
            f"convert-{k}",
            lambda c: [*to_olmo, c.tmp / "hf", c.tmp / "dst"],
            ("config.json", "safetensors", "hf"),
            _hf_folder(text),
            record=False,
        )
        for k, text in conv
    ]
    to_hf = ["convert", "olmo-to-hf"]
    return cases + [
        refusal(
            "convert-src-missing",
            lambda c: [*to_olmo, c.tmp / "ghost", c.tmp / "dst"],
            ("ghost",),
            record=False,
        ),
        refusal(
            "convert-dst-nonempty",
            lambda c: [*to_hf, c.run, c.tmp / "dst"],
            ("dst",),
            lambda c: ((c.tmp / "dst").mkdir(), (c.tmp / "dst" / "keep.txt").write_text("mine")),
            checkpoints=True,
        ),
        refusal("convert-no-checkpoint", lambda c: [*to_hf, c.run, c.tmp / "dst"], ("checkpoint",)),
        refusal(
            "convert-corrupt-checkpoint",
            lambda c: [*to_hf, c.run, c.tmp / "dst"],
            ("model_optim.pt", "step000004"),
            lambda c: (c.run / "checkpoints" / "step000004" / "model_optim.pt").write_bytes(b"garbage"),
            checkpoints=True,
        ),
        refusal(
            "convert-dst-into-record",
            lambda c: [*to_hf, c.run, c.run / "telemetry"],
            ("telemetry", "empty", "exist"),
            checkpoints=True,
        ),
        Case(
            "convert-valid",
            lambda c: [*to_hf, c.run, c.tmp / "dst"],
            None,
            lambda c: (c.tmp / "dst" / "config.json").exists() and (c.tmp / "dst" / "README.md").exists(),
            checkpoints=True,
            valid=True,
        ),
    ]


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
        refusal(f"train-{k}", lambda c, a=a: [*t, "--run-dir", c.tmp / "new", *a], (n,), record=False)
        for k, (a, n) in bad.items()
    ]
    new_run = [*t, "--run-dir"]
    cases += [
        refusal(
            "train-data-missing",
            lambda c: [*new_run, c.tmp / "new", "--max-steps", "1", "--data", c.tmp / "no.npy"],
            ("no.npy",),
            record=False,
        ),
        refusal(
            "train-data-garbage",
            lambda c: [*new_run, c.tmp / "new", "--max-steps", "1", "--data", c.tmp / "input_ids.npy"],
            ("input_ids.npy",),
            lambda c: (c.tmp / "input_ids.npy").write_bytes(b"\x00garbage" * 10),
            record=False,
        ),
        refusal(
            "train-run-dir-is-file",
            lambda c: [*new_run, c.tmp / "f", "--max-steps", "1"],
            ("f",),
            _write("f", "x"),
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
        train_argv(c.tmp / "r", 200), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
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
        train_argv(c.tmp / "k", 500), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
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
