"""The warm-up in a real browser (hosting/warm.py, ui/server.py): a fresh server with an
empty run store trains the pages' default experiments as it starts, before any visitor
comes; a visitor who then opens a link straight to Zero init sees its answer from the
store, with no training (no progress bar ever appears). Skips, saying why, where chromium
or playwright is missing."""

import time

import pytest
from browser_helpers import ROOT, chromium, chromium_page, streamlit_server

from hosting import warm
from mlp_core.store import RunStore
from ui import training

SHOTS = ROOT / "artifacts" / "browser"
VIEW = {"width": 1400, "height": 900}
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
    store = tmp_path / "cache"
    with streamlit_server({"PRACTICE_BOARD_CACHE": str(store), warm.WARM_ENV: "1"}) as url:
        wanted = sum(len(cfgs) for cfgs in training.default_experiments())
        end = time.monotonic() + WARM_S
        while len(RunStore(store).entries()) < wanted:  # no visitor yet: the server's start
            assert time.monotonic() < end, "the warm-up did not store its runs"
            time.sleep(0.2)
        with chromium() as browser:
            page = chromium_page(browser, VIEW)
            page.add_init_script(SAW_PROGRESS)
            page.goto(f"{url}/zero_init")
            page.get_by_text(ANSWER).first.wait_for(timeout=120_000)
            page.wait_for_selector(IDLE, timeout=120_000)
            assert page.evaluate("() => window.sawProgress") is False
            assert page.locator("[data-testid='stException']").count() == 0
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=SHOTS / "zero_init_warm.png")
