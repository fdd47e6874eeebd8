"""report.html opens in headless Chromium and every image in it loads.

Under CI=true the test installs Chromium when it is missing (apt-get); elsewhere it is skipped
when no Chromium can be found or installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--virtual-time-budget=10000",
]
#: Appended to a copy of the report: after load, write each image's state into the DOM.
CHECK = """<script>window.addEventListener('load', () => {
  const im = [...document.images];
  const pre = document.createElement('pre'); pre.id = 'imgcheck';
  pre.textContent = JSON.stringify({n: im.length,
    widths: im.map(i => (i.complete ? i.naturalWidth : 0)), alts: im.map(i => i.alt)});
  document.body.appendChild(pre);
});</script>"""


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if os.environ.get("CI", "").lower() == "true" and shutil.which("apt-get"):
        # A fresh machine has no package lists yet: update them before installing.
        subprocess.run(["apt-get", "update", "-q"], check=False, capture_output=True, timeout=300)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "chromium"],
            check=False,
            capture_output=True,
            timeout=600,
        )
        return shutil.which("chromium")
    return None


def test_report_renders_with_every_image(tiny_run, tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Chromium missing and could not be installed under CI")
        pytest.skip("no Chromium available")
    run = tiny_run[0]
    html = (run / "report.html").read_text()
    for section in ("Study region", "Configuration", "Model skill", "Fidelity", "Provenance"):
        assert section in html, section
    assert "http://" not in html and "https://" not in html  # nothing fetched from the network
    check = run / "report_check.html"
    check.write_text(html.replace("</body>", CHECK + "</body>"))
    out = subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", check.as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    check.unlink()
    found = re.search(r'<pre id="imgcheck">(.*?)</pre>', out.stdout, re.S)
    assert found, f"no result from Chromium: {out.stderr[-2000:]}"
    result = json.loads(found.group(1).replace("&quot;", '"'))
    n_png = len(list((run / "figures").glob("*.png")))
    assert result["n"] >= n_png >= 2  # at least the study region and the fidelity figure
    broken = [a for a, w in zip(result["alts"], result["widths"], strict=True) if w <= 0]
    assert not broken, f"images that did not load: {broken}"
