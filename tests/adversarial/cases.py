"""The table of hostile cases: every command, fed corrupt, truncated, concurrent, enormous, wrong-unit,
wrong-type, hostile-path and killed-midway input."""

from __future__ import annotations

from pathlib import Path

from tests.adversarial.harness import Case, Ctx, close, gpu_j_from_chunks, report_json

FIXTURES = Path(__file__).parent.parent / "traces" / "fixtures"
RECORD_FILES = {
    "steps.csv": "steps.csv",
    "config.yaml": "config.yaml",
    "events.jsonl": "events.jsonl",
    "chunk": "telemetry/vm.000000.parquet",
    "summary": "telemetry/vm.summary.parquet",
    "buckets": "telemetry/vm.buckets.parquet",
    "domains": "telemetry/vm.domains.parquet",
}


def _empty(p: Path) -> None:
    p.write_bytes(b"")


def _truncate(p: Path) -> None:
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


def _garbage(p: Path) -> None:
    p.write_bytes(b"\x00\xff garbage \x89PNG\r\n" * 50)


def _delete(p: Path) -> None:
    p.unlink()


def _dir(p: Path) -> None:
    p.unlink()
    p.mkdir()


def _dangling(p: Path) -> None:
    p.unlink()
    p.symlink_to(p.parent / "nowhere")


MUTATIONS = {
    "empty": _empty,
    "truncated": _truncate,
    "garbage": _garbage,
    "deleted": _delete,
    "directory": _dir,
    "dangling-symlink": _dangling,
}


def _mutate(rel: str, how):
    return lambda c: how(c.run / rel)


def _figure_right(c: Ctx) -> bool:
    """The GPU energy equals each device's counter span in the raw chunks (read with pandas)."""
    return close(report_json(c)["gpu_energy_mwh"] * 3.6e9, c.extra["truth_j"])


def _truth(rel: str, how):
    """Mutate, but remember the untouched record's figure first: a figure must match the record."""

    def setup(c: Ctx) -> None:
        c.extra["truth_j"] = gpu_j_from_chunks(c.run)
        how(c.run / rel)

    return setup


def _verify_ok(c: Ctx) -> bool:
    return "all within" in c.stdout


def record_cases() -> list[Case]:
    cases = []
    for name, rel in RECORD_FILES.items():
        telemetry = rel.startswith("telemetry/vm.0")
        for mname, how in MUTATIONS.items():
            needle = (Path(rel).name, Path(rel).parent.name, "telemetry", "no samples")
            # report: exit 0 only with the untouched figure (steps/config/events/derived files may go)
            cases.append(
                Case(
                    f"report-{name}-{mname}",
                    lambda c: ["report", c.run, "--format", "json"],
                    _truth(rel, how),
                    None if telemetry else _figure_right,
                    needle,
                )
            )
            # --verify re-integrates the raw chunks: with them intact, "all within" is a true answer
            cases.append(
                Case(
                    f"verify-{name}-{mname}",
                    lambda c: ["report", c.run, "--verify"],
                    _truth(rel, how),
                    None if telemetry else _verify_ok,
                    needle,
                    multi=True,
                )
            )
    cases.append(
        Case(
            "report-untouched",
            lambda c: ["report", c.run, "--format", "json"],
            lambda c: c.extra.update(truth_j=gpu_j_from_chunks(c.run)),
            _figure_right,
            valid=True,
        )
    )
    cases.append(
        Case("verify-untouched", lambda c: ["report", c.run, "--verify"], None, _verify_ok, valid=True)
    )
    return cases


def _factors(pue: float, intensity: float):
    def good(c: Ctx) -> bool:
        r = report_json(c)
        return (
            close(r["facility_energy_mwh"], r["gpu_energy_mwh"] * pue)
            and close(r["emissions_tco2eq"] * 1e3, r["facility_energy_mwh"] * 1e3 * intensity, 1e-6)
            and close(r["gpu_energy_mwh"] * 3.6e9, gpu_j_from_chunks(c.run))
        )

    return good


def _series(text: str):
    return lambda c: (c.tmp / "series.csv").write_text(text)


def option_cases() -> list[Case]:
    rep = ["report", "--format", "json"]
    bad = {  # option values that must be refused, and the word the refusal must hold
        "pue-zero": (["--pue", "0"], "pue"),
        "pue-negative": (["--pue", "-1"], "pue"),
        "pue-nan": (["--pue", "nan"], "pue"),
        "pue-inf": (["--pue", "inf"], "pue"),
        "pue-enormous": (["--pue", "1e30"], "pue"),
        "pue-text": (["--pue", "abc"], "pue"),
        "pue-percent": (["--pue", "110"], "pue"),
        "pue-below-one": (["--pue", "0.5"], "pue"),
        "intensity-negative": (["--intensity", "-1"], "intensity"),
        "intensity-nan": (["--intensity", "nan"], "intensity"),
        "intensity-inf": (["--intensity", "inf"], "intensity"),
        "intensity-grams": (["--intensity", "400"], "intensity"),
        "intensity-text": (["--intensity", "4OO"], "intensity"),
        "wue-negative": (["--wue", "-1"], "wue"),
        "wue-nan": (["--wue", "nan"], "wue"),
        "wue-enormous": (["--wue", "1e30"], "wue"),
        "country-unknown": (["--country", "XXX"], "XXX"),
        "country-empty": (["--country", ""], "country"),
        "country-alpha2": (["--country", "FI"], "FI"),
        "hardware-unknown": (["--hardware", "nope"], "nope"),
        "hardware-path": (["--hardware", "../../etc/passwd"], "passwd"),
        "format-unknown": (["--format", "xml"], "format"),
        "by-missing-tag": (["--by", "team"], "team"),
        "nodes-without-verify": (["--nodes", "x*"], "nodes"),
        "sacct-job-without-sacct": (["--sacct-job", "12"], "sacct"),
        "series-missing": (["--intensity-series", "/nonexistent/s.csv"], "s.csv"),
    }
    cases = [
        Case(f"report-opt-{k}", lambda c, a=a: [*rep[:1], c.run, *a], None, None, (n,))
        for k, (a, n) in bad.items()
    ]
    series = {
        "series-empty": "",
        "series-garbage": "\x00\x01\x02",
        "series-negative": "timestamp,g/kWh\n2025-01-01T00:00:00Z,-5\n",
        "series-text": "timestamp,g/kWh\n2025-01-01T00:00:00Z,lots\n",
        "series-no-overlap": "timestamp,g/kWh\n1999-01-01T00:00:00Z,100\n",
        "series-kg-unit": "timestamp,kg/kWh\n2025-01-01T00:00:00Z,0.1\n",
        "series-header-only": "timestamp,g/kWh\n",
    }
    for k, text in series.items():
        cases.append(
            Case(
                f"report-opt-{k}",
                lambda c: ["report", c.run, "--intensity-series", c.tmp / "series.csv"],
                _series(text),
                None,
                ("series.csv",),
            )
        )
    good = {
        "pue-1.2": (["--pue", "1.2"], 1.2, None),
        "intensity-0.4": (["--intensity", "0.4"], 1.1, 0.4),
        "both": (["--pue", "1.5", "--intensity", "0.25"], 1.5, 0.25),
    }
    for k, (a, pue, inten) in good.items():
        cases.append(
            Case(
                f"report-opt-{k}",
                lambda c, a=a: [*rep, c.run, *a],
                None,
                _factors(pue, 0.0 if inten is None else inten),
                valid=True,
            )
        )
    return cases


def _sacct(text: str):
    return lambda c: (c.tmp / "sacct.txt").write_text(text)


def sacct_cases() -> list[Case]:
    texts = {
        "empty": "",
        "garbage": "\x00\xff\x00 not sacct",
        "header-only": "JobID|ConsumedEnergyRaw|\n",
        "negative-energy": "JobID|ConsumedEnergyRaw|Elapsed|\n1|-500|00:00:10|\n",
        "text-energy": "JobID|ConsumedEnergyRaw|Elapsed|\n1|lots|00:00:10|\n",
        "enormous-energy": "JobID|ConsumedEnergyRaw|Elapsed|\n1|1e300|00:00:10|\n",
        "wrong-columns": "Foo|Bar|\n1|2|\n",
        "binary": "\x89PNG\r\n\x1a\n" * 100,
    }
    cases = [
        Case(
            f"sacct-{k}",
            lambda c: ["report", c.run, "--sacct", c.tmp / "sacct.txt"],
            _sacct(t),
            None,
            ("sacct.txt", "sacct"),
        )
        for k, t in texts.items()
    ]
    cases.append(
        Case(
            "sacct-missing",
            lambda c: ["report", c.run, "--sacct", c.tmp / "none.txt"],
            None,
            None,
            ("none.txt",),
        )
    )
    cases.append(
        Case(
            "sacct-directory",
            lambda c: ["report", c.run, "--sacct", c.tmp],
            None,
            None,
            (str(Path("x")), "directory", "sacct"),
        )
    )
    return cases


def _copy_fixture(name: str, how=None):
    def setup(c: Ctx) -> None:
        dst = c.tmp / name
        dst.write_bytes((FIXTURES / name).read_bytes())
        if how:
            how(dst)

    return setup


TRACE_FORMATS = {
    "record": "record.csv",
    "nvidia-smi": "nvidia-smi-units-index.csv",
    "dcgm": "dcgm-dmon-ts.log",
    "prometheus": "prometheus-range.json",
    "amd-smi": "amd-smi-watch-mi250x.csv",
    "rocm-smi": "rocm-smi-showpower-mi250x.csv",
}


def _trace_ok(c: Ctx) -> bool:
    r = report_json(c)
    return r["gpu_energy_mwh"] > 0 and r["method"] in ("replayed", "power_integration", "counter")


def _trace_argv(name: str, form: str):
    return lambda c: [
        "report",
        "--trace",
        c.tmp / name,
        "--trace-format",
        form,
        "--intensity",
        "0.3",
        "--format",
        "json",
    ]


def trace_cases() -> list[Case]:
    cases = []
    muts = {"empty": _empty, "truncated": _truncate, "garbage": _garbage}
    for fmt, name in TRACE_FORMATS.items():
        for form in (fmt, "auto"):
            argv = _trace_argv(name, form)
            cases.append(
                Case(
                    f"trace-{form}-{fmt}-valid",
                    argv,
                    _copy_fixture(name),
                    _trace_ok,
                    record=False,
                    valid=True,
                )
            )
            for m, how in muts.items():
                good = _trace_ok if m == "truncated" else None  # half a log is still a log
                cases.append(
                    Case(
                        f"trace-{form}-{fmt}-{m}", argv, _copy_fixture(name, how), good, (name,), record=False
                    )
                )
        cases.append(
            Case(
                f"trace-{fmt}-missing",
                lambda c, f=fmt: [
                    "report",
                    "--trace",
                    c.tmp / "gone.csv",
                    "--trace-format",
                    f,
                    "--intensity",
                    "0.3",
                ],
                None,
                None,
                ("gone.csv",),
                record=False,
            )
        )
    cases.append(
        Case(
            "trace-directory",
            lambda c: ["report", "--trace", c.tmp, "--trace-format", "nvidia-smi", "--intensity", "0.3"],
            None,
            None,
            (str(Path()), "director", "trace"),
            record=False,
        )
    )
    cases.append(
        Case(
            "trace-negative-power",
            lambda c: [
                "report",
                "--trace",
                c.tmp / "neg.csv",
                "--trace-format",
                "nvidia-smi",
                "--intensity",
                "0.3",
            ],
            lambda c: (c.tmp / "neg.csv").write_text(
                "timestamp, index, power.draw [W]\n2025/07/26 23:53:30.945, 0, -116.51 W\n"
                "2025/07/26 23:53:31.945, 0, -118.02 W\n"
            ),
            None,
            ("neg.csv",),
            record=False,
        )
    )
    cases.append(
        Case(
            "trace-milliwatts",
            lambda c: [
                "report",
                "--trace",
                c.tmp / "mw.csv",
                "--trace-format",
                "nvidia-smi",
                "--intensity",
                "0.3",
            ],
            lambda c: (c.tmp / "mw.csv").write_text(
                "timestamp, index, power.draw [mW]\n2025/07/26 23:53:30.945, 0, 116510\n"
                "2025/07/26 23:53:31.945, 0, 118020\n"
            ),
            None,
            ("mw.csv", "mW"),
            record=False,
        )
    )
    cases.append(
        Case(
            "trace-enormous-line",
            lambda c: [
                "report",
                "--trace",
                c.tmp / "big.csv",
                "--trace-format",
                "nvidia-smi",
                "--intensity",
                "0.3",
            ],
            lambda c: (c.tmp / "big.csv").write_text(
                "timestamp, index, power.draw [W]\n" + "9" * 5_000_000 + "\n"
            ),
            None,
            ("big.csv",),
            record=False,
        )
    )
    cases.append(
        Case(
            "trace-tz-unknown",
            lambda c: [
                "report",
                "--trace",
                c.tmp / "nvidia-smi-units-index.csv",
                "--trace-format",
                "nvidia-smi",
                "--intensity",
                "0.3",
                "--trace-tz",
                "Mars/Base",
            ],
            _copy_fixture("nvidia-smi-units-index.csv"),
            None,
            ("Mars/Base",),
            record=False,
        )
    )
    cases.append(
        Case(
            "trace-devices-zero",
            lambda c: [
                "report",
                "--trace",
                c.tmp / "nvidia-smi-nounits-noindex.csv",
                "--trace-format",
                "nvidia-smi",
                "--intensity",
                "0.3",
                "--trace-devices",
                "0",
            ],
            _copy_fixture("nvidia-smi-nounits-noindex.csv"),
            None,
            ("trace-devices",),
            record=False,
        )
    )
    return cases
