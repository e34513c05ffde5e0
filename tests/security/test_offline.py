"""The newcomer's path runs with the network cut off, and its run record holds no pickle.

`olmo-green train --hardware lumi --simulate` on the built-in data, then
`report` (with a country's average from codecarbon's bundled data) and
`dashboard`, in-process with every IP connection and name lookup refused.
"""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from olmo_green.cli import cli

SMALL = ["--set", "model.sequence_length=32", "--set", "batch.global_batch_size=8", "--set", "progress=false"]


@pytest.fixture
def no_network(monkeypatch):
    """Refuse IP connections and DNS; local (AF_UNIX) sockets still work. Records what was tried."""
    tried = []
    connect = socket.socket.connect

    def guarded_connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            tried.append(address)
            raise OSError(f"network access in a test: {address}")
        return connect(self, address)

    def refuse(*args, **kwargs):
        tried.append(args)
        raise OSError(f"network access in a test: {args}")

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return tried


def run(*args) -> str:
    result = CliRunner().invoke(cli, [*map(str, args)])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.usefixtures("one_thread")
def test_newcomer_path_offline_leaves_report_and_dashboard_and_no_pickle(tmp_path, no_network):
    out = tmp_path / "run"
    said = run("train", "--hardware", "lumi", "--simulate", "--max-steps", 4, "--run-dir", out, *SMALL)
    for name in ("report.md", "report.json", "dashboard.html"):
        assert (out / name).is_file() and str(out / name) in said  # written, and the user is told where
    assert "GPU energy" in (out / "report.md").read_text()
    carbon = json.loads(run("report", out, "--country", "FIN", "--format", "json"))["runs"][0]["carbon"]
    assert any("codecarbon" in line["source"] for line in carbon)  # its bundled data, read offline
    run("dashboard", out, "-o", tmp_path / "again.html")
    assert no_network == []

    files = [p for p in out.rglob("*") if p.is_file()]
    assert not [p for p in files if p.suffix in (".pkl", ".pickle")]
    for path in files:
        if path.suffix == ".npy":
            np.load(path, allow_pickle=False)  # raises if the file needs pickle
        if path.suffix == ".pt":
            torch.load(path, map_location="cpu", weights_only=True)
