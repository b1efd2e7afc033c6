"""Screenshots of the comparison report and of kedro-viz, as a user sees them, for the docs.

    pip install -e ".[screenshots]"  # Playwright; it drives Debian's chromium
    python docs/screenshots.py [base|sample]

Needs a finished ``kedro run`` of that environment. With ``base`` it records what the pictures
were taken from (``docs/images/sources.json``): a test fails when the committed report or
pipelines have changed since. kedro-viz is shown as a returning user sees it: its onboarding
tour is marked as seen, and its version check, which offline reports an update to version
"None" (kedro-viz 12.5 compares the string), answers that this version is current.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Page, Route, sync_playwright

PROJECT = Path(__file__).resolve().parents[1]
IMAGES = PROJECT / "docs" / "images"
PORT = 4142
VIZ = f"http://127.0.0.1:{PORT}"
SEEN_TOUR = "localStorage.setItem('KedroViz', JSON.stringify({showFeatureHints: false}))"


@contextlib.contextmanager
def kedro_viz(env: str) -> Iterator[None]:
    """``kedro viz run`` for ``env`` until the block ends; no update check reaches PyPI."""
    proxy = "http://127.0.0.1:9"  # a dead proxy: kedro-viz asks PyPI for updates at start
    environ = os.environ | {"HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "NO_PROXY": "127.0.0.1"}
    command = [sys.executable, "-m", "kedro", "viz", "run", "--host", "127.0.0.1"]
    command += ["--port", str(PORT), "--no-browser", "--env", env]
    with open("/tmp/census-mtl-viz.log", "w") as log:
        viz = subprocess.Popen(  # its own session: the server is a child process of kedro's
            command, cwd=PROJECT, env=environ, stdout=log, stderr=log, start_new_session=True
        )
    try:
        for _ in range(90):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{VIZ}/api/main", timeout=5)
                break
            time.sleep(1)
        yield
    finally:
        os.killpg(viz.pid, signal.SIGTERM)
        viz.wait(30)


def current_version(route: Route) -> None:
    """kedro-viz's ``/api/version``, answered as up to date."""
    installed = json.loads(route.fetch().text())["installed"]
    body = {"installed": installed, "is_outdated": False, "latest": installed}
    route.fulfill(json=body)


def shoot(page: Page, url: str, name: str, width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto(url, wait_until="networkidle")
    page.wait_for_timeout(3000)  # the graph's layout animation
    page.screenshot(path=IMAGES / name)


def main(env: str) -> None:
    root = PROJECT / ("data/sample" if env == "sample" else "data")
    with sync_playwright() as playwright, kedro_viz(env):
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"))
        page = browser.new_page()
        report = (root / "08_reporting/compare_report.html").as_uri()
        shoot(page, report, "compare_report.png", 1300, 2400)
        page.add_init_script(SEEN_TOUR)
        page.route("**/api/version", current_version)
        shoot(page, f"{VIZ}/", "kedro_viz.png", 1600, 1000)
        shoot(page, f"{VIZ}/?pid=ple&expandAllPipelines=false", "kedro_viz_ple.png", 1600, 1000)
        browser.close()
    if env == "base":
        from census_mtl.reporting.summary import SCREENSHOTS, record

        record(PROJECT, SCREENSHOTS)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "base")
