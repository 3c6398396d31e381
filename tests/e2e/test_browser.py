"""The browser the web console's tests will drive is there and renders: Chromium, run headless,
loads a page, runs its script and hands back the resulting DOM."""
from __future__ import annotations

import subprocess


def test_chromium_renders_a_page_and_runs_its_script(chromium, tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<!doctype html><title>probe</title><p id=out>not run</p>"
                    "<script>document.getElementById('out').textContent = 'script ran: ' + 6 * 7"
                    "</script>")
    # --no-sandbox: Chromium refuses to start its sandbox as root, which is how this suite runs
    # on CI; a profile in tmp_path keeps it off the user's own.
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}",
               "--dump-dom", page.as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert '<p id="out">script ran: 42</p>' in result.stdout
