"""Temporary trees laid out like the real sysfs ones."""

from pathlib import Path


def write(root: Path, relative: str, value: object) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{value}\n", encoding="ascii")
    return path


def drm_tree(root: Path, gcds: int = 2, energy: bool = True) -> Path:
    """amdgpu cards: even cards are MI250X primary GCDs, odd ones read 0 power."""
    for card in range(gcds):
        hwmon = f"card{card}/device/hwmon/hwmon{card + 3}"
        write(root, f"{hwmon}/name", "amdgpu")
        write(root, f"{hwmon}/power1_average", 0 if card % 2 else 312_000_000)  # µW
        if energy:
            write(root, f"{hwmon}/energy1_input", 5_000_000_000 + card)  # µJ
    write(root, "card0-DP-1/status", "disconnected")
    write(root, "renderD128/dev", "226:128")
    return root


def cray_tree(root: Path) -> Path:
    write(root, "freshness", 1234)
    write(root, "energy", "8345671 J 1700000000123456 us")
    write(root, "power", "2231 W 1700000000123456 us")
    write(root, "cpu_energy", "1234567 J 1700000000123456 us")
    write(root, "memory_energy", "234567 J 1700000000123456 us")
    for accel in range(4):
        write(root, f"accel{accel}_energy", f"{1_000_000 + accel} J 1700000000123456 us")
        write(root, f"accel{accel}_power", "450 W 1700000000123456 us")
    write(root, "power_cap", "0 W")
    return root


def powercap_tree(root: Path, range_uj: int = 262_143_328_850) -> Path:
    write(root, "intel-rapl:0/name", "package-0")
    write(root, "intel-rapl:0/energy_uj", 1_000_000)
    write(root, "intel-rapl:0/max_energy_range_uj", range_uj)
    write(root, "intel-rapl:0/intel-rapl:0:0/name", "core")
    write(root, "intel-rapl:0/intel-rapl:0:0/energy_uj", 500_000)
    write(root, "intel-rapl:0/intel-rapl:0:0/max_energy_range_uj", range_uj)
    write(root, "intel-rapl:0/intel-rapl:0:1/name", "dram")
    write(root, "intel-rapl:0/intel-rapl:0:1/energy_uj", 200_000)
    write(root, "intel-rapl:0/intel-rapl:0:1/max_energy_range_uj", range_uj)
    return root
