#!/usr/bin/env python3
"""The dashboard's screenshots in docs/dashboard.md, taken from the demo's data
(`make demo` first; then `make screenshots`): `footfall dashboard` on a free local
port, each page opened in headless Chromium (Debian's, through Playwright, as the
browser test does), one PNG per page beside this script."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PAGES = {
    "overview": "",
    "hourly": "hourly",
    "dwell": "dwell",
    "capture_rate": "capture_rate",
    "occupancy": "occupancy",
    "stores": "stores",
    "sensor_health": "sensor_health",
    "privacy": "privacy",
}


def main() -> None:
    demo = REPO / "demo"
    if not (demo / "data" / "marts").is_dir():
        sys.exit("no demo data: run `make demo` first")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    footfall = Path(sys.executable).with_name("footfall")
    server = subprocess.Popen(
        [str(footfall), "dashboard", "--port", str(port), "--no-browser"],
        cwd=demo,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait(url)
        _shoot(url)
    finally:
        server.terminate()
        server.wait(timeout=20)


def _wait(url: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    sys.exit("the dashboard did not start")


def _shoot(url: str) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--headless=new", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for name, path in PAGES.items():
            page.goto(f"{url}/{path}")
            page.wait_for_selector('[data-testid="stHeading"]', timeout=60_000)
            page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)
            time.sleep(1)  # charts finish drawing after the script
            page.screenshot(path=HERE / f"{name}.png")
            print(HERE / f"{name}.png")
        browser.close()


if __name__ == "__main__":
    main()
