"""One synthetic power curve, written as each tool writes it, reads back as the same samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from olmo_green.traces.formats import FORMAT_NAMES, TraceOptions, open_trace
from tests.traces import write_formats as wf


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    curve = wf.curve(samples=250, devices=4)
    return curve, wf.write_all(tmp_path_factory.mktemp("formats"), curve)


def _read(path, fmt="auto", **options) -> tuple[pd.DataFrame, object]:
    opened = open_trace(path, fmt, TraceOptions(**{"tz": "+02:00", "node": wf.NODE} | options))
    frame = pd.concat(list(opened.batches), ignore_index=True)
    return frame, opened


def _trapezoid_j(frame: pd.DataFrame) -> dict[str, float]:
    """A plain trapezoid per device, independent of the package's integration."""
    out = {}
    for device, rows in frame.groupby("device"):
        t, p = rows["time_s"].to_numpy(), rows["power_w"].to_numpy()
        out[device] = float(np.sum((p[1:] + p[:-1]) / 2 * np.diff(t)))
    return out


def test_every_format_is_written_and_sniffed_as_itself(written):
    _, paths = written
    assert set(paths) == set(FORMAT_NAMES)
    for fmt, path in paths.items():
        _, opened = _read(path)
        assert (opened.format, opened.auto) == (fmt, True)


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_every_format_gives_the_curves_samples(written, fmt):
    curve, paths = written
    frame, opened = _read(paths[fmt], fmt)
    assert not opened.auto
    assert list(frame.columns) == ["time_s", "node", "device", "domain", "power_w", "energy_j", "source"]
    assert (frame["node"] == wf.NODE).all() and (frame["domain"] == "gpu").all()
    assert (frame["source"] == fmt).all()
    for d in range(curve.devices):
        rows = frame[frame["device"] == str(d)]
        # times are float64 UNIX seconds (one ulp is 2.4e-7 s at 1.7e9): equal to the microsecond
        np.testing.assert_allclose(rows["time_s"], curve.time_ms / 1000, rtol=0, atol=1e-6)
        np.testing.assert_allclose(rows["power_w"], curve.power_w[d], rtol=0, atol=1e-9)
        if fmt != "nvidia-smi":  # nvidia-smi --query-gpu has no energy counter
            np.testing.assert_allclose(rows["energy_j"], curve.energy_mj[d] / 1000, rtol=0, atol=1e-9)
    assert opened.stats.rows_dropped == {} and opened.stats.gaps_na == 0
    assert opened.stats.bytes_done == opened.stats.bytes_total


def test_every_format_integrates_to_the_same_energy(written):
    curve, paths = written
    energies = {fmt: _trapezoid_j(_read(path, fmt)[0]) for fmt, path in paths.items()}
    # the exact trapezoid of the curve, in integer mJ: the counter's own rise
    exact = {str(d): (curve.energy_mj[d, -1] - curve.energy_mj[d, 0]) / 1000 for d in range(curve.devices)}
    for fmt, per_device in energies.items():
        assert per_device.keys() == exact.keys(), fmt
        for device, energy_j in per_device.items():
            assert energy_j == pytest.approx(exact[device], rel=1e-6), (fmt, device)


def test_nvidia_smi_without_index_or_units_gives_the_same_samples(written, tmp_path):
    curve, paths = written
    path = tmp_path / "noindex.csv"
    wf.write_nvidia_smi(curve, path, index=False, units=False)
    frame, opened = _read(path)
    expected, _ = _read(paths["nvidia-smi"])
    assert opened.format == "nvidia-smi"
    assert any("4 GPU(s) per round" in note for note in opened.stats.notes)
    assert frame["device"].tolist() == expected["device"].tolist()
    np.testing.assert_allclose(frame["power_w"], expected["power_w"], rtol=0, atol=1e-9)
    # each GPU's row was stamped 1 ms after the previous one's, as nvidia-smi queries them in turn
    offset = frame["device"].astype(int).to_numpy() / 1000
    np.testing.assert_allclose(frame["time_s"] - offset, expected["time_s"], rtol=0, atol=1e-6)


def test_mi250x_secondary_gcds_count_once_in_amd_smi_and_rocm_smi(written, tmp_path):
    curve, paths = written
    for fmt, writer in (("amd-smi", wf.write_amd_smi), ("rocm-smi", wf.write_rocm_smi)):
        path = tmp_path / f"mi250x.{fmt}.csv"
        writer(curve, path, secondary=True)
        frame, opened = _read(path)
        assert opened.format == fmt
        assert sorted(frame["device"].unique()) == ["0", "2", "4", "6"]  # primaries only
        assert opened.stats.rows_dropped == {"secondary GCD (its package is counted on the primary)":
                                             curve.devices * len(curve.time_ms)}
        per_package = _trapezoid_j(frame)
        plain = _trapezoid_j(_read(paths[fmt])[0])
        for d in range(curve.devices):
            assert per_package[str(2 * d)] == pytest.approx(plain[str(d)], rel=1e-12)
