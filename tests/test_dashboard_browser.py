"""The dashboard in a real browser: Debian's headless Chromium drives `northroute dashboard`.

Runs a tiny scenario through the page, waits for the charts and the map, saves a screenshot and fails if
the page asks anything of a host other than this machine. `playwright install` is never called: the
browser is the system's /usr/bin/chromium (installed by .ci/run).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (Debian package 'chromium'; "
                                                     ".ci/run installs it)"),
    pytest.mark.slow,
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dashboard(tmp_path: Path):
    port = free_port()
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "northroute", "dashboard", "--port", str(port), "--runs",
                             str(tmp_path / "runs")], stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the dashboard did not start:\n" + (tmp_path / "server.log").read_text())
            time.sleep(0.3)
        yield url, tmp_path
    finally:
        with_group = proc.pid
        try:
            os.killpg(with_group, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(with_group, signal.SIGKILL)
        log.close()


def set_number(page, label: str, value: str) -> None:
    box = page.get_by_role("spinbutton", name=label).first
    box.fill(value)
    box.press("Enter")
    page.wait_for_timeout(400)


def test_run_in_the_browser(dashboard, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    url, folder = dashboard
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("request", lambda req: requests.append(req.url))
            page.goto(url)
            page.get_by_text("No run is open yet").wait_for(timeout=30_000)
            set_number(page, "Years to simulate", "0.2")
            set_number(page, "Burn-in weeks", "2")
            set_number(page, "Share of the population simulated", "0.005")
            page.get_by_text("10 weeks recorded at scale 0.005").wait_for(timeout=10_000)
            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_text("Run finished.").wait_for(timeout=60_000)
            page.locator(".st-key-section-flows .js-plotly-plot").first.wait_for(timeout=30_000)
            page.locator(".st-key-section-map .js-plotly-plot").first.wait_for(timeout=30_000)
            page.locator(".st-key-section-arrests .js-plotly-plot").first.wait_for(timeout=30_000)
            assert page.locator(".js-plotly-plot").count() >= 5
            page.set_viewport_size({"width": 1400, "height": 4200})  # streamlit scrolls inside the page
            page.wait_for_timeout(1500)  # let plotly redraw at the new size before the picture
            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 20_000
        finally:
            browser.close()
    runs = [p for p in (folder / "runs").iterdir() if not p.name.startswith(".")]
    assert len(runs) == 1 and (runs[0] / "manifest.json").is_file() and (runs[0] / "report.html").is_file()
    hosts = {urlparse(u).hostname for u in requests if urlparse(u).scheme in ("http", "https", "ws", "wss")}
    assert requests and hosts <= LOCAL_HOSTS, f"requests left this machine: {sorted(hosts - LOCAL_HOSTS)}"
