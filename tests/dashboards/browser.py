"""Headless Chromium driven from its command line: a DOM dump and a screenshot in one launch.

No driver library: the page under test gets two small scripts injected (an
error recorder first in <head>, a checker at the end of <body>); the checker
writes its findings as JSON into the DOM, which `--dump-dom` prints once the
virtual time budget has let Plotly draw.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

# Flags for a root sandbox with no network (see the machine notes): no first-run
# UI, no background connections, no sandbox (root), no GPU.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--virtual-time-budget=15000"]
BROWSERS = ("chromium", "chromium-browser", "google-chrome")

RECORD_ERRORS = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push('error: ' + e.message));
window.addEventListener('unhandledrejection', e => window.__errors.push('rejection: ' + e.reason));
const __consoleError = console.error;
console.error = (...args) => { window.__errors.push('console: ' + args.join(' ')); __consoleError(...args); };
</script>"""

CHECK = """<script>
function __panel(section) {
  const plot = section.querySelector('.js-plotly-plot');
  const lines = plot ? [...plot.querySelectorAll('.scatterlayer .trace path.js-line')] : [];
  return {id: section.id, svg: !!(plot && plot.querySelector('svg.main-svg')),
          traces: lines.length, drawn: lines.filter(p => (p.getAttribute('d') || '').length > 10).length,
          table: section.querySelectorAll('table tr').length, text: section.innerText.slice(0, 400)};
}
function __report(extra) {
  const out = {panels: [...document.querySelectorAll('section.panel')].map(__panel),
               errors: window.__errors, ...extra};
  const pre = document.createElement('pre');
  pre.id = 'browser-check';
  pre.style.display = 'none';  // in the DOM dump, not in the screenshot
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}
window.addEventListener('load', () => setTimeout(() => {
  // Switch the device power panel to wall time, as a reader would, and look again.
  const plot = document.getElementById('power-device-plot');
  const button = [...document.querySelectorAll('#power-device .updatemenu-button')]
    .find(b => b.textContent.includes('wall time'));
  if (!button) { __report({switched: false}); return; }
  button.dispatchEvent(new MouseEvent('click', {bubbles: true}));
  setTimeout(() => {
    const visible = plot.querySelectorAll('.scatterlayer .trace path.js-line').length;
    const axis = plot.layout.xaxis.type;
    // Back to the step view, so that a screenshot shows the page as it opens.
    const back = [...document.querySelectorAll('#power-device .updatemenu-button')]
      .find(b => b.textContent.includes('step'));
    back.dispatchEvent(new MouseEvent('click', {bubbles: true}));
    setTimeout(() => __report({switched: true, axis_type: axis, visible_after_switch: visible,
                               axis_type_after_back: plot.layout.xaxis.type}), 500);
  }, 500);
}, 500));
</script>"""


def find_chromium() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(browser: str, args: list[str], timeout_s: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout_s, check=False)


def check_page(browser: str, page: Path, png: Path | None = None, size: str = "1300,3800",
               timeout_s: float = 900.0, check: str = CHECK) -> dict:
    """Load a copy of `page` with the recorder and a checker injected; return the checker's JSON.

    With `png`, the same launch also saves a screenshot (the page as it opens). `check`: a script
    that writes its findings as JSON into <pre id="browser-check"> (default: the panels' state).
    """
    text = page.read_text(encoding="utf-8")
    text = text.replace("<head>", "<head>" + RECORD_ERRORS, 1).replace("</body>", check + "</body>", 1)
    probe = page.with_name(page.stem + ".check.html")
    probe.write_text(text, encoding="utf-8")
    shot = []
    if png is not None:
        png.parent.mkdir(parents=True, exist_ok=True)
        shot = [f"--screenshot={png.resolve()}", f"--window-size={size}"]
    result = _run(browser, [*shot, "--dump-dom", probe.resolve().as_uri()], timeout_s)
    found = re.search(r"<pre id=\"browser-check\"[^>]*>(.*?)</pre>", result.stdout, re.S)
    if not found:
        raise AssertionError(f"the checker did not report; chromium said:\n{result.stderr[-2000:]}")
    return json.loads(html.unescape(found.group(1)))
