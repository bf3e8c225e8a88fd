"""A visitor's text is text on every page, in every expander, in a real browser
(Debian's chromium via playwright).

An upload whose file name and words carry Markdown, HTML and remote images pointing at a
local HTTP server started here; the session then visits every page, trains on Compare,
opens every expander and the run pickers. No element built from that text exists (no
image, link, emphasis, math, HTML), and the local server logs no request. Screenshots
land in artifacts/browser/user_text_*.png. Skips, saying why, where chromium or playwright
is missing.
"""

from __future__ import annotations

import http.server
import re
import threading

import pytest
from browser_helpers import ROOT, chromium, chromium_page, streamlit_server

WAIT_MS = 240_000
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
SHOTS = ROOT / "artifacts" / "browser"
VIEW = {"width": 1400, "height": 1000}

pytestmark = pytest.mark.slow


class _Log(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (the standard library's name)
        _Log.requests.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def bait():
    """A local HTTP server that logs every request: the image and link targets."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Log)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with streamlit_server({"PRACTICE_BOARD_CACHE": str(tmp_path_factory.mktemp("cache"))}) as url:
        yield url


def _words(bait: str) -> list[str]:
    """Valid words (no '.', the start/end token: the host is named localhost)."""
    bait = bait.replace("127.0.0.1", "localhost")
    tricks = [
        f"![w]({bait}/wordpng)",
        f'<img src="{bait}/htmlpng">',
        f"[link]({bait}/link)",
        "**strong**",
        "_emph_",
        "$x^2$",
        ":blue[blue]",
        ":material/home:",
        "<b>bee</b>",
    ]
    good = [f"{a}{b}" for a in ("ann", "bob", "cleo", "dina", "eve") for b in ("a", "o", "ie")]
    return tricks + good * 3


def _built(bait: str) -> str:
    """Elements Markdown or HTML would build from the upload's text."""
    port = bait.rsplit(":", 1)[1]
    return (
        f"img[src*='{port}'], a[href*='{port}'], [data-testid='stMain'] img, "
        "[data-testid='stSidebar'] img, strong:has-text('strong'), em:has-text('emph'), "
        "b:has-text('bee'), strong:has-text('fb'), "
        ".katex annotation:has-text('x^2'), "
        "[data-testid='stMarkdownColoredText']"
    )


def _settle(page, text: str) -> None:
    page.get_by_text(text, exact=False).first.wait_for(timeout=WAIT_MS)
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    page.wait_for_timeout(1000)


def _go(page, link: str, text: str) -> None:
    page.locator("[data-testid='stSidebarNav']").get_by_text(link, exact=True).click()
    _settle(page, text)


def _open_expanders(page) -> None:
    """Every collapsed expander of the page, opened."""
    for summary in page.locator("[data-testid='stExpander'] summary").all():
        if summary.get_attribute("aria-expanded") != "true":
            summary.click()
            page.wait_for_timeout(500)


def _run_count(page) -> int:
    label = page.get_by_text(re.compile(r"All \d+ runs of this session")).first.inner_text()
    return int(re.search(r"\d+", label).group())


def _nothing_built(page, bait: str, where: str) -> None:
    _open_expanders(page)
    page.screenshot(path=SHOTS / f"user_text_{where}.png", full_page=True)
    built = page.locator(_built(bait))
    assert built.count() == 0, (
        f"{where}: {[built.nth(i).evaluate('e => e.outerHTML') for i in range(built.count())]}"
    )
    assert page.locator("[data-testid='stException']").count() == 0, where
    assert _Log.requests == [], f"{where}: fetched {_Log.requests}"


def test_uploaded_name_and_words_build_no_element_on_any_page(server, bait, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    name = f"![fn]({bait}/fnimg.png) **fb** <img src={bait}/fnhtml.png>.txt"
    body = ("\n".join(_words(bait)) + "\n").encode()
    with chromium() as browser:
        page = chromium_page(browser, VIEW)
        page.goto(f"{server}/dataset")
        _settle(page, "Reference losses")
        chooser = page.locator("[data-testid='stFileUploader'] input[type=file]")
        chooser.set_input_files({"name": name, "mimeType": "text/plain", "buffer": body})
        page.get_by_text("upload: ![fn]", exact=False).first.wait_for(timeout=WAIT_MS)
        _settle(page, "Reference losses")
        _nothing_built(page, bait, "dataset")
        _go(page, "Home", "Practice Board")
        _nothing_built(page, bait, "home")
        _go(page, "Zero init", "What trained, and why")
        _nothing_built(page, bait, "zero_init")
        _go(page, "BatchNorm folding", "Same forward pass")
        _nothing_built(page, bait, "batchnorm_fold")
        _go(page, "Compare runs", "The lecture's diagnostics")
        _open_expanders(page)
        n = _run_count(page)
        page.get_by_role("button", name="Train", exact=True).click()
        page.get_by_text(f"All {n + 1} runs of this session").first.wait_for(timeout=WAIT_MS)
        _settle(page, "The lecture's diagnostics")
        picker = page.locator("[data-testid='stMultiSelect']", has_text="Compare")
        picker.first.click()  # its options, drawn
        page.wait_for_timeout(500)
        _nothing_built(page, bait, "compare")
        assert "![fn](" in page.locator("[data-testid='stMain']").inner_text()  # as written
