"""`footfall dashboard` as a user runs it: the command starts the server on a free
local port, a real headless Chromium (Debian's, driven by Playwright) opens every
page, the demo day's headline figures must be on the overview (computed here from
the marts with DuckDB), no page may show a Streamlit exception, and a full-page
screenshot of each is saved under the test's folder."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import duckdb
import pytest

from conftest import Collected
from footfall_command import FOOTFALL, run_footfall

PAGES = ["", "hourly", "dwell", "capture_rate", "occupancy", "stores", "sensor_health", "privacy"]
START_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "the browser test needs Debian's chromium; `make test` installs it (apt-get install chromium)"
    return path


def listening_addresses(port: int) -> set[str]:
    """The local addresses a socket listens on for this port, from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":  # LISTEN
                found.add(address)
    return found


PORT_TRIES = 3  # the free port found can be taken by another program before the server binds it


def start_dashboard(data: Path, tmp_path: Path, attempt: int) -> tuple[subprocess.Popen, int, IO[str]]:
    port = free_port()
    log = (tmp_path / f"server-{attempt}.log").open("w+")
    process = subprocess.Popen(
        [str(FOOTFALL), "dashboard", "--data", str(data), "--port", str(port), "--no-browser"],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process, port, log


@pytest.fixture
def server(demo_outputs: Collected, tmp_path: Path) -> Iterator[str]:
    attempt = 1
    process, port, log = start_dashboard(demo_outputs.data, tmp_path, attempt)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                log.seek(0)
                said = log.read()
                # between free_port() closing its socket and the server's bind, any program's
                # outgoing connection can be given that port: then, and only then, another port
                if f"{port} is already in use" in said and attempt < PORT_TRIES:
                    log.close()
                    attempt += 1
                    process, port, log = start_dashboard(demo_outputs.data, tmp_path, attempt)
                    continue
                pytest.fail(f"footfall dashboard exited with {process.returncode}: {said[-2000:]}")
            url = f"http://127.0.0.1:{port}"
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"the server did not answer within {START_TIMEOUT_S} s: {log.read()[-2000:]}")
            time.sleep(0.5)
        assert listening_addresses(port) == {"0100007F"}, "it serves on 127.0.0.1 only"
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def demo_headline(data: Path) -> dict[str, str]:
    """The demo day's figures, read from the daily mart (one store, one day)."""
    ((visitors, low, high, visits, passersby, rate, p50),) = duckdb.sql(
        "select visitors, visitors_low, visitors_high, visits, passersby, visitors / (visitors + passersby), "
        f"dwell_p50_s from read_parquet('{data}/marts/daily/**/*.parquet', hive_partitioning = true)"
    ).fetchall()
    minutes = round(p50 / 60)
    ranged = f" ({low:,}\u2013{high:,})" if (low, high) != (visitors, visitors) else ""  # the estimate's range
    return {
        "Visitors": f"{visitors:,}{ranged}",
        "Visits": f"{visits:,}",
        "Passers-by": f"{passersby:,}",
        "Capture rate": f"{rate * 100:.0f}%",
        "Median dwell": f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min",
    }


def test_the_dashboard_in_a_real_browser(server: str, demo_outputs: Collected, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    expected = demo_headline(demo_outputs.data)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium(),
            args=["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            # goto, click, the download and inner_text wait 30 s by default; on a loaded
            # 2-core machine the server, Chromium and the tests share the cores: the same 60 s
            # as the explicit waits below
            page.set_default_timeout(60_000)
            page.set_default_navigation_timeout(60_000)
            for path in PAGES:
                page.goto(f"{server}/{path}")
                page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=60_000)
                page.wait_for_selector('[data-testid="stHeading"], [data-testid="stException"]', timeout=60_000)
                # a heading is drawn while the script runs; then wait for the run to be over
                page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)
                download = page.locator('[data-testid="stDownloadButton"]').filter(has_text="Download this page (CSV)")
                # every page has one, drawn late: under load the script state has been read as over
                # before it was (a fresh-clone run, 2026-12-01: no button yet on the first page), so the
                # page is read once it is there
                download.first.wait_for(state="visible", timeout=60_000)
                name = path or "overview"
                page.screenshot(path=tmp_path / f"{name}.png", full_page=True)
                exceptions = page.locator('[data-testid="stException"]')
                assert exceptions.count() == 0, f"{name}: {exceptions.first.inner_text()}"
                assert (tmp_path / f"{name}.png").stat().st_size > 10_000
                body = page.inner_text("body")
                assert "README" not in body, f"{name}: a manager is never sent to the README"
                assert download.count() == 1, f"{name}: a CSV of what the page shows"
                if name != "privacy":
                    with page.expect_download() as started:
                        download.first.click()
                    csv = Path(started.value.path()).read_text(encoding="utf-8")
                    assert csv.count("\n") >= 2 and "nan" not in csv.split(","), f"{name}: {csv[:200]}"
                    assert started.value.suggested_filename.startswith(f"footfall-{name}-demo-2024-")
                if name == "overview":
                    page.wait_for_selector('[data-testid="stMetricValue"]', timeout=60_000)
                    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
                    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
                    shown = dict(zip([label.strip() for label in labels], [v.strip() for v in values], strict=True))
                    for label, value in expected.items():
                        assert shown.get(label) == value, (label, shown)
                    assert "Friday 15 March 2024" in body
                    assert "How many people came in" in body, "the page says what it answers"
        finally:
            browser.close()


def test_a_port_in_use_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_footfall("dashboard", "--port", str(port), cwd=tmp_path)
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        == f"footfall: error: --port: {port} is already in use on 127.0.0.1 (try another with --port)"
    )


def test_a_bad_configuration_stops_before_serving(tmp_path: Path) -> None:
    (tmp_path / "footfall.toml").write_text("[privacy]\nk = 0\n")
    done = run_footfall("dashboard", "--port", str(free_port()), cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.output
    assert done.stderr.startswith("footfall: error:") and "privacy.k" in done.stderr


def test_a_missing_data_folder_is_said_at_start(tmp_path: Path) -> None:
    """In the audit's words, before the server starts (which it still does: the pages
    say how to get data, and the privacy page needs none)."""
    process = subprocess.Popen(
        [str(FOOTFALL), "dashboard", "--data", str(tmp_path / "nowhere"), "--port", str(free_port()), "--no-browser"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stderr.readline() if process.stderr else ""
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert line.startswith(f"footfall: note: no data folder at {tmp_path / 'nowhere'}: nothing to show (see --data)")
