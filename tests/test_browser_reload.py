"""A session survives a reload (F5), in a real browser (Debian's chromium, Python
playwright): the run list comes back from the session's cookie, a browser without that
cookie sees none of it, a link carries no run, and runs on an upload come back with a note
that the word list needs uploading again. Each test asserts what the screen shows and
leaves its screenshot in artifacts/browser/. Skips where chromium or playwright is
missing."""

import re

import pytest
import test_browser_learner as learner
from test_browser_hosting import _upload
from test_browser_learner import TRAINING_MS, new_page, settle, shot

pytestmark = pytest.mark.slow
server, browser = learner.server, learner.browser  # the shared fixtures: one server

TWO_RUNS = "compare?n_layers=1&n_hidden=8&steps=300&activations=tanh,relu&inits=kaiming"
LIST = re.compile(r"All (\d+) runs of this session")


def train_two(page, server) -> str:
    page.goto(f"{server}/{TWO_RUNS}")
    settle(page, "Compare runs")
    if not page.get_by_text("What differs").count():
        page.get_by_role("button", name="Train", exact=True).click()
    settle(page, "What differs", TRAINING_MS)
    return page.get_by_text(LIST).first.inner_text()


def test_a_reload_finds_the_session_runs_again(server, browser):
    page = new_page(browser)
    before = train_two(page, server)
    page.goto(f"{server}/compare")  # a new session in the same tab, no runs in its link
    settle(page, "What differs", TRAINING_MS)
    assert page.get_by_text(LIST).first.inner_text() == before
    page.reload()
    settle(page, "What differs", TRAINING_MS)
    assert page.get_by_text(LIST).first.inner_text() == before
    page.get_by_text(LIST).first.scroll_into_view_if_needed()
    shot(page, "reload_runs_back")
    stranger = new_page(browser)  # another browser: no cookie, none of these runs
    stranger.goto(f"{server}/compare")
    settle(stranger, "No runs yet in this session")


SMALL = "zero_init?layers=1&n_hidden=8&steps=300"


def test_runs_on_an_upload_come_back_and_the_list_needs_uploading(server, browser, tmp_path):
    words = tmp_path / "my_words.txt"
    words.write_text("\n".join(["anna", "bob", "carla", "dmitri", "eve", "fay"] * 40))
    page = new_page(browser)
    page.goto(f"{server}/{SMALL}")
    settle(page, "What trained, and why", TRAINING_MS)
    _upload(page, words)
    settle(page, "Run zero init vs its comparison")
    page.get_by_role("button", name="Run zero init vs its comparison").click()
    settle(page, "What trained, and why", TRAINING_MS)
    page.reload()
    settle(page, "upload it again", TRAINING_MS)
    sidebar = page.locator("[data-testid='stSidebar']").inner_text()
    assert "upload it again" in sidebar and "my_words.txt" in sidebar
    shot(page, "reload_upload_note")
    page.locator("[data-testid='stSidebarNav'] a", has_text="Compare runs").click()
    settle(page, "What differs")
    assert page.get_by_text(LIST).first.inner_text() == "All 4 runs of this session"
    assert page.get_by_text("my_words.txt").count()
