"""Prometheus /metrics: scraped over HTTP from a real `olmo-green train --simulate`."""

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from olmo_green.record import read_steps
from olmo_green.telemetry.meter import EnergyMeter
from tests.model.helpers import byte_data

SAMPLE = r"^(?P<name>[a-z_]+)\{(?P<labels>[^}]*)\} (?P<value>\S+)$"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int, path: str = "/metrics") -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as response:
        return response.read().decode()


def samples(text: str) -> dict[str, list[tuple[dict, float]]]:
    import re

    out: dict[str, list] = {}
    for line in text.splitlines():
        match = re.match(SAMPLE, line)
        if match:
            labels = dict(kv.split("=", 1) for kv in match["labels"].split(","))
            labels = {k: v.strip('"') for k, v in labels.items()}
            out.setdefault(match["name"], []).append((labels, float(match["value"])))
    return out


def wait_for_steps(port: int, process, deadline_s: float = 1200.0) -> str:
    """Scrape until a step has been recorded; the training must still be running."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        assert process.poll() is None, process.stderr.read()
        try:
            text = scrape(port)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
            continue
        step = samples(text).get("olmo_green_step", [({}, 0.0)])[0][1]
        if step >= 2:
            return text
        time.sleep(0.5)
    raise AssertionError("no step recorded in time")


def test_a_running_simulated_train_serves_metrics_over_http(tmp_path):
    port, run = free_port(), tmp_path / "run"
    data = byte_data(tmp_path / "data")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "olmo_green.cli", "train", "--simulate", "--hardware", "mosaicml-a100",
               "--data", str(data), "--run-dir", str(run), "--max-steps", "200",
               "--set", "model.sequence_length=32", "--set", "progress=false",
               "--set", f"telemetry.metrics_port={port}", "--set", "telemetry.sampling_interval_s=0.05"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        found = samples(wait_for_steps(port, process))
        with pytest.raises(urllib.error.HTTPError) as other:
            scrape(port, "/")
        assert other.value.code == 404  # only /metrics is served
    finally:
        process.send_signal(signal.SIGTERM)  # finishes the step, saves, closes: exit 143
        process.communicate(timeout=1200)
    energy = found["olmo_green_energy_joules_total"]
    assert {tuple(sorted(labels)) for labels, _ in energy} == {("device", "domain", "node")}
    assert all(labels["domain"] == "gpu" for labels, _ in energy) and all(v > 0 for _, v in energy)
    assert all(v > 0 for _, v in found["olmo_green_power_watts"])
    assert found["olmo_green_tokens_total"][0][1] > 0
    grams = found["olmo_green_emissions_grams_total"][0][1]
    kwh = sum(v for _, v in energy) / 3.6e6
    assert grams == pytest.approx(kwh * 0.656 * 1.1 * 1000, rel=1e-6)  # mosaicml-a100: intensity x PUE
    assert found["olmo_green_method_info"][0][0]["method"] == "modelled"
    assert process.returncode == 143 and (read_steps(run)["phase"] == "train").sum() >= 2


def test_a_port_in_use_is_one_warning_and_training_goes_on(tmp_path, caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.WARNING), EnergyMeter(tmp_path / "run", "local", simulate=True,
                                                           metrics_port=port) as meter:
            for _ in range(3):
                meter.step(tokens=10)
    warnings = [r.getMessage() for r in caplog.records if "metrics" in r.getMessage()]
    assert len(warnings) == 1 and str(port) in warnings[0] and "training continues" in warnings[0]
    assert (read_steps(tmp_path / "run")["phase"] == "train").sum() == 3


def test_the_endpoint_binds_loopback_by_default_and_answers_metrics_only(tmp_path):
    with EnergyMeter(tmp_path / "run", "local", simulate=True, metrics_port=0) as meter:
        meter.step(tokens=10)
        endpoint = meter.live.endpoint
        assert endpoint.server.server_address[0] == "127.0.0.1"
        assert "olmo_green_energy_joules_total" in scrape(endpoint.port)
        for path in ("/", "/metrics/x", "/favicon.ico"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                scrape(endpoint.port, path)
            assert refused.value.code == 404
        request = urllib.request.Request(f"http://127.0.0.1:{endpoint.port}/metrics", data=b"x")
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=60)
    with pytest.raises(OSError):  # closed with the meter
        scrape(endpoint.port)
