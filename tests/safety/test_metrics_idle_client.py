"""Finding 15: an idle TCP client on the /metrics port starves no scrape and never makes
training hang at close or on SIGTERM. The time limits here only catch a hang (the normal
durations are well under a second for a scrape and a few seconds for a train)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading

from olmo_green.record import read_steps
from olmo_green.telemetry.meter import EnergyMeter
from tests.model.helpers import byte_data
from tests.telemetry.test_metrics_endpoint import free_port, scrape, wait_for_steps

HANG_S = 60.0  # far above the server's 5 s bounds: only a hang reaches it


def _idle_client(port: int) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", port), timeout=HANG_S)
    client.sendall(b"GET /metr")  # a request begun and never finished, as a stalled scraper
    return client


def test_a_scrape_is_answered_while_an_idle_client_holds_a_connection(tmp_path):
    meter = EnergyMeter(tmp_path / "run", "local", simulate=True, metrics_port=0).start()
    clients = []
    try:
        meter.step(tokens=10)
        port = meter.live.endpoint.port
        clients = [_idle_client(port), socket.create_connection(("127.0.0.1", port), timeout=HANG_S)]
        assert "olmo_green_energy_joules_total" in scrape(port)  # urlopen's own 5 s timeout
    finally:
        closer = threading.Thread(target=meter.close, daemon=True)
        closer.start()
        closer.join(HANG_S)
        for client in clients:
            client.close()
    assert not closer.is_alive(), "closing the meter hung on an idle metrics client"
    assert (read_steps(tmp_path / "run")["phase"] == "train").sum() == 1


def test_sigterm_ends_a_train_that_has_an_idle_metrics_client(tmp_path):
    port, run = free_port(), tmp_path / "run"
    data = byte_data(tmp_path / "data")
    command = [sys.executable, "-m", "olmo_green.cli", "train", "--simulate", "--hardware", "mosaicml-a100",
               "--data", str(data), "--run-dir", str(run), "--max-steps", "500",
               "--set", "model.sequence_length=32", "--set", "progress=false",
               "--set", f"telemetry.metrics_port={port}", "--set", "telemetry.sampling_interval_s=0.05"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    client = None
    try:
        wait_for_steps(port, process)
        client = _idle_client(port)
        assert "olmo_green_step" in scrape(port)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=HANG_S * 2)
    finally:
        if client is not None:
            client.close()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 143, stderr
    assert (run / "checkpoints").is_dir()
