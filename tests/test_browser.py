"""End to end in a real browser: Debian's chromium driven by Python playwright.

Starts the app on 127.0.0.1, visits every page, runs the default zero-init experiment and
checks that its answer appears and no exception box is anywhere. The first request the
fresh server gets is a shared link to a page, not to app.py: without ui.page_entry() that
page would run alone in Streamlit's legacy multipage mode, with no sidebar
(ui/navigation.py says why); this test is the one that shows it. Screenshots land in
artifacts/browser/. Skips, saying why, where chromium or playwright is missing.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGES = [  # url path, text that proves the page rendered; the first is a fresh server's
    ("dataset?block_size=4", "Reference losses"),  # first request: a shared link
    ("", "Practice Board"),
    ("zero_init", "What trained, and why"),
    ("batchnorm_fold", "BatchNorm"),
    ("compare", "Compare"),
]

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("streamlit did not become healthy")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed here (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="python playwright is not installed")
    port = _free_port()
    env = os.environ | {"PRACTICE_BOARD_CACHE": str(tmp_path_factory.mktemp("cache"))}
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _settle(page, text: str, timeout_ms: int) -> None:
    page.get_by_text(text, exact=False).first.wait_for(timeout=timeout_ms)
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_ms
    )


def test_every_page_renders_and_zero_init_answers(server):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            for path, text in PAGES:
                page.goto(f"{server}/{path}")
                _settle(page, text, 180_000 if path == "zero_init" else 60_000)
                name = path.split("?")[0] or "home"
                page.screenshot(path=SHOTS / f"{name}.png", full_page=True)
                assert page.locator("[data-testid='stException']").count() == 0, path
                assert "In use" in page.locator("[data-testid='stSidebar']").inner_text(), path
            page.goto(f"{server}/zero_init")
            _settle(page, "What trained, and why", 60_000)
            answer = page.locator("[data-testid='stAlertContentSuccess']").first.inner_text()
            assert "layers.10.bias" in answer and "unigram" in answer
            page.goto(f"{server}/batchnorm_fold?layers=1&n_hidden=32&steps=300")
            _settle(page, "Train and fold", 60_000)
            page.get_by_role("button", name="Train and fold").click()
            proof = page.locator("[data-testid='stAlertContentSuccess']", has_text="Same forward")
            proof.first.wait_for(timeout=120_000)
            _settle(page, "The proof", 60_000)
            page.wait_for_timeout(1500)  # let the charts draw before the screenshot
            page.screenshot(path=SHOTS / "batchnorm_fold_proof.png", full_page=True)
            assert page.locator("[data-testid='stException']").count() == 0
        finally:
            browser.close()
