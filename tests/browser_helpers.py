"""A real browser against a real server, the same way in the browser tests and the
benches: Debian's chromium with the flags this machine needs, and `streamlit run app.py`
on a free loopback port, waited for until its health check answers.

The browser tests take their server from `streamlit_server` (it skips, saying why, where
chromium or playwright is missing), their browser from `chromium` and each page from
`chromium_page`. The benches import this module too, without pytest: pytest is imported
where a skip needs it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [  # without the networking flags chromium keeps calling closed hosts
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` headless on a free loopback port, with these environment
    variables over this process's; returns the process and its URL (not yet healthy)."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
    cmd += ["--server.address", "127.0.0.1", "--server.port", str(port)]
    cmd += ["--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=os.environ | env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return proc, f"http://127.0.0.1:{port}"


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90, poll: float = 0.5):
    """Return once the server's health check answers; raise if it exits or times out."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(poll)
    raise TimeoutError("streamlit did not become healthy")


def skip_without_browser() -> None:
    """Skip the test, saying why, where Debian's chromium or Python playwright is missing."""
    import pytest

    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed here (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="python playwright is not installed")


@contextmanager
def streamlit_server(env: dict[str, str]) -> Iterator[str]:
    """The app's server for a browser test, as its URL once healthy: `streamlit run app.py`
    with these environment variables over this process's. Skips where chromium or
    playwright is missing; the server ends with the block, killed if asking is not enough."""
    skip_without_browser()
    proc, url = start_streamlit(env)
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def chromium() -> Iterator:
    """Debian's chromium through Python playwright, closed with the block."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def chromium_page(browser, view: dict[str, int], **context):
    """A page in a browser context of its own (no cookie, no storage of another page's):
    this viewport, and playwright's other context options as given (accept_downloads=True
    for a test that reads downloads). Closing its context, page.context.close(), ends it."""
    return browser.new_context(viewport=view, **context).new_page()
