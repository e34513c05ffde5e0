"""Tiny OLMo-core trainings for the integration tests: the example script's own trainer, real library."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from olmo_green import record as rr
from olmo_green.integrate import curves_from_samples

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "olmo_core_train.py"


def load_example():
    """examples/olmo_core_train.py as a module: the tests train what the example trains."""
    pytest.importorskip("olmo_core", reason="ai2-olmo-core is in the test extra: pip install -e '.[test]'")
    spec = importlib.util.spec_from_file_location("olmo_core_train_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def metric_probe():
    """An OLMo-core callback that keeps every metric OLMo-core hands its loggers (W&B, Comet)."""
    from olmo_core.train.callbacks import Callback

    @dataclass
    class MetricProbe(Callback):
        logged: dict = field(default_factory=dict)  # step -> {name: value}

        def log_metrics(self, step, metrics):
            self.logged.setdefault(step, {}).update(metrics)

    return MetricProbe()


def train_in_process(run_dir: Path, *flags: str, extra_callbacks: dict | None = None):
    """One process, no process group (how OLMo-core's own CPU training test runs); returns the trainer."""
    from olmo_core.utils import seed_all

    example = load_example()
    seed_all(0)
    trainer = example.build_trainer(example.parse_args(["--run-dir", str(run_dir), *flags]), run_dir,
                                    extra_callbacks)
    trainer.fit()
    return trainer


def record_total_j(run_dir: Path) -> float:
    """The run's accelerator energy as a report computes it: from the samples, by integrate.py."""
    return sum(c.total_j for c in curves_from_samples(rr.read_samples(run_dir)) if c.domain == "gpu")


def run_example(*args: str, torchrun: int = 0, timeout_s: float = 1200) -> subprocess.CompletedProcess:
    """Run the example (under torchrun with `torchrun` ranks); a hang is killed, ranks included."""
    launcher = [sys.executable]
    if torchrun:
        launcher += ["-m", "torch.distributed.run", "--nproc-per-node", str(torchrun)]
    command = [*launcher, str(EXAMPLE), *args]
    # Its own session: on a timeout the whole group goes (a hung rank ignores SIGTERM, and killing
    # torchrun alone leaves its ranks running).
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


def kill_when(proc: subprocess.Popen, condition, timeout_s: float = 900.0) -> None:
    """SIGKILL `proc` once `condition()` holds (nothing runs in the process after it)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert proc.poll() is None, "the training ended before it could be killed"
        assert time.monotonic() < deadline, "the training made no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
