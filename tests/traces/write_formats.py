"""One synthetic power curve written in every trace format, as each tool writes it.

The curve: DEVICES GPUs sampled every 100 ms for SAMPLES samples, power in
whole watts (amd-smi prints socket power so), with a checkpoint-like drop to
near idle; the energy counter is the exact trapezoid of that power, in whole
mJ (DCGM's unit), so every format can carry it without rounding. Times are
whole milliseconds from T0 (nvidia-smi prints milliseconds).

    python tests/traces/write_formats.py OUT_DIR [--samples N] [--devices N]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

T0_MS = 1_722_038_010_000  # 2024-07-27 00:33:30 UTC
PERIOD_MS = 100
TZ_OFFSET_H = 2  # the nvidia-smi file is written in UTC+02:00 local time
NODE = "gpu-node-07"
FILES = {"record": "record.csv", "nvidia-smi": "nvidia-smi.csv", "dcgm": "dcgm.log",
         "prometheus": "prometheus.json", "amd-smi": "amd-smi.csv", "rocm-smi": "rocm-smi.csv"}


@dataclass
class Curve:
    time_ms: np.ndarray  # (S,)
    power_w: np.ndarray  # (D, S) whole watts
    energy_mj: np.ndarray  # (D, S) cumulative, whole mJ

    @property
    def devices(self) -> int:
        return self.power_w.shape[0]


def curve(samples: int = 300, devices: int = 4) -> Curve:
    k = np.arange(samples)
    time_ms = T0_MS + PERIOD_MS * k
    power = np.empty((devices, samples), dtype=np.int64)
    for d in range(devices):
        wave = 550 + 120 * np.sin(2 * np.pi * k / 37 + d) + 15 * ((k * (d + 3)) % 7)
        drop = (k % 100 >= 60) & (k % 100 < 70)  # a checkpoint: power falls to near idle for 1 s
        power[d] = np.where(drop, 90 + 5 * d, np.round(wave)).astype(np.int64)
    steps_mj = (power[:, 1:] + power[:, :-1]) * PERIOD_MS // 2  # trapezoid, exact in mJ
    start_mj = 10_000_000 * (np.arange(devices)[:, None] + 1)
    energy = np.concatenate([start_mj, start_mj + np.cumsum(steps_mj, axis=1)], axis=1)
    return Curve(time_ms, power, energy)


def _seconds(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d}"


def write_record(c: Curve, path: Path) -> None:
    lines = ["time_s,device,power_w,energy_j"]
    for s, ms in enumerate(c.time_ms):
        lines += [f"{_seconds(ms)},{d},{c.power_w[d, s]},{_seconds(c.energy_mj[d, s])}"
                  for d in range(c.devices)]
    path.write_text("\n".join(lines) + "\n")


def write_nvidia_smi(c: Curve, path: Path, index: bool = True, units: bool = True) -> None:
    """`--query-gpu=timestamp,name,index,power.draw --format=csv[,nounits]`: ", " between fields,
    local time with milliseconds; each GPU's row stamped 1 ms after the previous (queried in turn)
    where there is no index column, and all at the round's time where there is."""
    local = timezone(timedelta(hours=TZ_OFFSET_H))
    head = "timestamp, name, " + ("index, " if index else "") + "power.draw [W], utilization.gpu [%]"
    lines = [head]
    for s, ms in enumerate(c.time_ms):
        for d in range(c.devices):
            stamp = datetime.fromtimestamp((ms + (0 if index else d)) / 1000, local)
            when = f"{stamp:%Y/%m/%d %H:%M:%S}.{stamp.microsecond // 1000:03d}"
            power = f"{c.power_w[d, s]:.2f}" + (" W" if units else "")
            util = "97" + (" %" if units else "")
            ids = [str(d)] if index else []
            lines.append(", ".join([when, "NVIDIA H100 80GB HBM3", *ids, power, util]))
    path.write_text("\n".join(lines) + "\n")


def write_dcgm(c: Curve, path: Path) -> None:
    """`dcgmi dmon -e 155,156 -d 100 | ts %.s`: fixed-width columns, header every 14 rounds."""
    header = f"{'#Entity':<16}{'POWER':<18}{'TOTEC':<24}"
    units = f"{'ID':<16}{' W':<18}{' mJ':<24}"
    lines = []
    for s, ms in enumerate(c.time_ms):
        stamp = f"{ms // 1000}.{ms % 1000:03d}000"
        if s % 14 == 0:
            lines += [f"{stamp} {header}", f"{stamp} {units}"]
        lines += [f"{stamp} {f'GPU {d}':<16}{c.power_w[d, s]:<18.3f}{c.energy_mj[d, s]:<24}"
                  for d in range(c.devices)]
    path.write_text("\n".join(lines) + "\n")


def write_prometheus(c: Curve, path: Path) -> None:
    """A /api/v1/query_range answer for power and energy, dcgm-exporter's labels."""
    result = []
    for d in range(c.devices):
        labels = {"gpu": str(d), "UUID": f"GPU-0000000{d}-aaaa-bbbb-cccc-dddddddddddd",
                  "device": f"nvidia{d}",
                  "modelName": "NVIDIA H100 80GB HBM3", "Hostname": NODE, "instance": "10.0.0.7:9400",
                  "job": "dcgm-exporter"}
        for name, values in (("DCGM_FI_DEV_POWER_USAGE", [f"{p:.3f}" for p in c.power_w[d]]),
                             ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", [str(e) for e in c.energy_mj[d]])):
            points = [[float(_seconds(ms)), v] for ms, v in zip(c.time_ms, values, strict=True)]
            result.append({"metric": {"__name__": name, **labels}, "values": points})
    path.write_text(json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}}))


def write_amd_smi(c: Curve, path: Path, secondary: bool = False) -> None:
    """`amd-smi metric --power --energy --csv` in a loop with `date +%s.%N` before each call
    (CRLF: csv.DictWriter's line ends); with `secondary`, each GPU is an MI250X primary GCD
    followed by its secondary, which reads N/A."""
    head = ("gpu,socket_power,gfx_voltage,soc_voltage,mem_voltage,throttle_status,power_management,"
            "total_energy_consumption")
    text = []
    for s, ms in enumerate(c.time_ms):
        text.append(f"{ms // 1000}.{ms % 1000:03d}000000\n{head}\r\n")
        for d in range(c.devices):
            gpu = 2 * d if secondary else d
            energy = _seconds(c.energy_mj[d, s])
            text.append(f"{gpu},{c.power_w[d, s]},N/A,N/A,N/A,UNTHROTTLED,ENABLED,{energy}\r\n")
            if secondary:
                text.append(f"{gpu + 1},N/A,N/A,N/A,N/A,N/A,ENABLED,N/A\r\n")
        text.append("\n")
    path.write_text("".join(text), newline="")


def write_rocm_smi(c: Curve, path: Path, secondary: bool = False) -> None:
    """`rocm-smi --showpower --showenergycounter --csv` in a loop with `date +%s.%N` before each call."""
    head = "device,Average Graphics Package Power (W),Energy counter,Accumulated Energy (uJ)"
    lines = []
    for s, ms in enumerate(c.time_ms):
        lines += [f"{ms // 1000}.{ms % 1000:03d}000000", head]
        for d in range(c.devices):
            card = 2 * d if secondary else d
            energy_mj = c.energy_mj[d, s]
            lines.append(f"card{card},{float(c.power_w[d, s])},{energy_mj * 65},{energy_mj * 1000}")
            if secondary:
                lines.append(f"card{card + 1},N/A (Secondary die),N/A,N/A")
    path.write_text("\n".join(lines) + "\n")


WRITERS = {"record": write_record, "nvidia-smi": write_nvidia_smi, "dcgm": write_dcgm,
           "prometheus": write_prometheus, "amd-smi": write_amd_smi, "rocm-smi": write_rocm_smi}


def write_all(out: Path, c: Curve) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for fmt, writer in WRITERS.items():
        paths[fmt] = out / f"{NODE}.{FILES[fmt]}"
        writer(c, paths[fmt])
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--devices", type=int, default=4)
    args = parser.parse_args()
    for fmt, path in write_all(args.out, curve(args.samples, args.devices)).items():
        print(f"{fmt:<11} {path}")


if __name__ == "__main__":
    main()
