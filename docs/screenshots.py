"""Render the pictures the docs and the README use, from a real simulated run.

    python docs/screenshots.py            # trains 20 simulated LUMI steps in a scratch folder
    python docs/screenshots.py RUN_DIR    # or draws an existing run

Writes docs/img/dashboard.png: the run's dashboard.html opened in headless
Chromium (Debian's `chromium` package) and captured as it draws. Nothing is
pasted by hand, so a changed dashboard means a rerun of this script.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

IMG = Path(__file__).resolve().parent / "img"
# A root sandbox with no network: no sandbox, no GPU, no background connections.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--virtual-time-budget=15000", "--window-size=1280,1500"]


def simulated_run(scratch: Path) -> Path:
    """A short simulated LUMI run made with the CLI a user runs."""
    run = scratch / "run"
    subprocess.run(["olmo-green", "train", "--hardware", "lumi", "--simulate", "--max-steps", "20",
                    "--run-dir", str(run)], check=True, stdout=subprocess.DEVNULL)
    return run


def screenshot(page: Path, out: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("screenshots: no chromium on PATH (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                        f"--screenshot={out}", page.as_uri()], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)


def main() -> None:
    IMG.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        run = Path(sys.argv[1]) if len(sys.argv) > 1 else simulated_run(Path(scratch))
        screenshot(run / "dashboard.html", IMG / "dashboard.png")
    print(IMG / "dashboard.png")


if __name__ == "__main__":
    main()
