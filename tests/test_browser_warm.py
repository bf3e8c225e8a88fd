"""The warm-up in a real browser (hosting/warm.py, ui/server.py): a fresh server with an
empty run store trains the pages' default experiments as it starts, before any visitor
comes; a visitor who then opens a link straight to Zero init sees its answer from the
store, with no training (no progress bar ever appears). Skips, saying why, where chromium
or playwright is missing."""

import os
import time

import pytest
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, ROOT, start_streamlit, wait_healthy

from hosting import warm
from mlp_core.store import RunStore
from ui import training

SHOTS = ROOT / "artifacts" / "browser"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
WARM_S = 300  # a guard against a hang on a busy box, not a timing assert
ANSWER = "What trained, and why"
SAW_PROGRESS = """window.sawProgress = false;  // before the page's own scripts
document.addEventListener("DOMContentLoaded", () => {
  new MutationObserver(() => {
    if (document.querySelector("[data-testid='stProgress']")) window.sawProgress = true;
  }).observe(document.body, {childList: true, subtree: true});
});"""

pytestmark = pytest.mark.slow


def test_a_fresh_servers_zero_init_answer_comes_from_its_warm_up(tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed here (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="python playwright is missing")
    store = tmp_path / "cache"
    proc, url = start_streamlit({"PRACTICE_BOARD_CACHE": str(store), warm.WARM_ENV: "1"})
    try:
        wait_healthy(url, proc)
        wanted = sum(len(cfgs) for cfgs in training.default_experiments())
        end = time.monotonic() + WARM_S
        while len(RunStore(store).entries()) < wanted:  # no visitor yet: the server's start
            assert time.monotonic() < end, "the warm-up did not store its runs"
            time.sleep(0.2)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.add_init_script(SAW_PROGRESS)
            page.goto(f"{url}/zero_init")
            page.get_by_text(ANSWER).first.wait_for(timeout=120_000)
            page.wait_for_selector(IDLE, timeout=120_000)
            assert page.evaluate("() => window.sawProgress") is False
            assert page.locator("[data-testid='stException']").count() == 0
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=SHOTS / "zero_init_warm.png")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
