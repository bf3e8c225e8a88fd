"""A cold server answers at once, in a real browser (Debian's chromium, Python
playwright): while its preload runs (held here until the test lets it go, so the test
sees that moment on any machine), a visitor who opens Zero init sees the page's title and
"getting ready", never a blank page, and then the answer. Leaves its screenshot in
artifacts/browser/. Skips where chromium or playwright is missing."""

import pytest
from browser_helpers import chromium, chromium_page, streamlit_server
from test_browser_learner import SHOTS, TRAINING_MS, WIDE, settle

pytestmark = pytest.mark.slow
READY = "The server is getting ready"


def test_a_cold_server_shows_the_page_getting_ready_then_the_answer(tmp_path):
    hold = tmp_path / "hold"
    hold.touch()
    env = {
        "PRACTICE_BOARD_CACHE": str(tmp_path / "cache"),
        "PRACTICE_BOARD_PRELOAD_HOLD": str(hold),
    }
    # the server answers its health check while the preload is held
    with streamlit_server(env) as url, chromium() as browser:
        page = chromium_page(browser, WIDE)
        page.goto(f"{url}/zero_init?layers=1&n_hidden=8&steps=300")
        page.get_by_text(READY).first.wait_for(timeout=60_000)
        assert page.locator("h1", has_text="Zero init").first.is_visible()
        assert not page.get_by_text("What trained, and why").count()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SHOTS / "cold_start_getting_ready.png")
        hold.unlink()  # the preload goes on
        settle(page, "What trained, and why", TRAINING_MS)
        assert not page.get_by_text(READY).count()
        page.screenshot(path=SHOTS / "cold_start_answer.png")
