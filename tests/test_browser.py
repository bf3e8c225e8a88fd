"""End to end in a real browser: Debian's chromium driven by Python playwright, at
1400x900 (a laptop's window).

Starts the app on 127.0.0.1 and, as a learner would in one session: opens a shared link
first (a fresh server's first request), then every page through the sidebar; runs the
defaults (Zero init and BatchNorm folding train on the first visit), and checks what a
test can see: no exception box, no cut text in the tables the pages draw with st.table,
legends in layer order, Compare listing both pages' runs with their diagnostics side by
side, one Stop button and a message after it, a message for a refused upload (.bin, too
big) and for a link over the limits. Full-page screenshots land in artifacts/browser/.
Skips, saying why, where chromium or playwright is missing.
"""

import re

import pytest
from browser_helpers import ROOT, chromium, chromium_page, streamlit_server

SHOTS = ROOT / "artifacts" / "browser"
VIEW = {"width": 1400, "height": 900}
TRAINING_MS = 240_000  # the zero-init pair at the defaults, on a busy 2-core box
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with streamlit_server({"PRACTICE_BOARD_CACHE": str(tmp_path_factory.mktemp("cache"))}) as url:
        yield url


@pytest.fixture(scope="module")
def browser(server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser):
    pg = chromium_page(browser, VIEW)
    yield pg
    pg.context.close()


DRAWN = """() => ![...document.querySelectorAll("[data-testid='stSkeleton']")]
    .some(e => e.offsetParent !== null)
  && [...document.querySelectorAll("[data-testid='stVegaLiteChart']")]
    .every(c => c.querySelector('canvas, svg'))"""


def _settle(page, text: str, timeout_ms: int = 60_000) -> None:
    """Until the text is there, the script is idle, and every chart is drawn."""
    page.get_by_text(text, exact=False).first.wait_for(timeout=timeout_ms)
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    page.wait_for_function(DRAWN, timeout=timeout_ms)


def _go(page, link: str, text: str, timeout_ms: int = 60_000) -> None:
    """A page switch through the sidebar: the same session, as a visitor clicks."""
    page.locator("[data-testid='stSidebarNav']").get_by_text(link, exact=True).click()
    _settle(page, text, timeout_ms)


def _full_shot(page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main block, not the window, so the
    window grows to that block's height for the picture, then goes back to 900."""
    main = page.locator("[data-testid='stMain']")
    height = page.evaluate("(el) => el.scrollHeight", main.element_handle())
    page.set_viewport_size({"width": VIEW["width"], "height": max(VIEW["height"], height)})
    page.wait_for_timeout(1500)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)
    page.set_viewport_size(VIEW)
    page.wait_for_timeout(500)


def _no_exception(page, where: str) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, where
    assert "In use" in page.locator("[data-testid='stSidebar']").inner_text(), where


CELLS = "[data-testid='stTable'] th, [data-testid='stTable'] td"
CUT_CELLS = f"""(root) => [...root.querySelectorAll("{CELLS}")]
  .filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.textContent)"""


def _no_cut_table_text(page, where: str) -> None:
    """No header or cell of an st.table is wider than its box (text cut or hidden)."""
    cut = page.evaluate(CUT_CELLS, page.locator("[data-testid='stMain']").element_handle())
    assert cut == [], f"{where}: cut {cut}"


LEGEND_LABELS = ".role-legend-label text"  # Vega's SVG: one text per legend entry
LEGENDS = f"""(root) => [...root.querySelectorAll("[data-testid='stVegaLiteChart']")]
  .map(chart => [...chart.querySelectorAll("{LEGEND_LABELS}")].map(t => t.textContent))"""


def _layer_key(name: str) -> tuple:
    return tuple(int(n) if n.isdigit() else n for n in re.split(r"(\d+)", name))


def _legends_in_layer_order(page, where: str) -> int:
    """Every chart legend that lists layers lists them by number (layers.2 before
    layers.10). Returns how many such legends it saw."""
    legends = page.evaluate(LEGENDS, page.locator("[data-testid='stMain']").element_handle())
    layered = [labels for labels in legends if labels and labels[0].startswith("layers.")]
    for labels in layered:
        assert labels == sorted(labels, key=_layer_key), f"{where}: {labels}"
    return len(layered)


def test_every_page_in_one_session_runs_its_defaults(server, page):
    page.goto(f"{server}/dataset?block_size=4")  # a fresh server's first request: a link
    _settle(page, "Reference losses")
    _no_exception(page, "dataset")
    _full_shot(page, "dataset")
    _go(page, "Home", "Practice Board")
    links = page.locator("[data-testid='stMain'] [data-testid='stPageLink']")
    assert links.count() == 5
    _full_shot(page, "home")
    _go(page, "Zero init", "What trained, and why", TRAINING_MS)
    answer = page.locator("[data-testid='stAlertContentSuccess']").first.inner_text()
    assert "layers.10.bias" in answer and "unigram" in answer
    assert _legends_in_layer_order(page, "zero init") >= 1
    _no_exception(page, "zero init")
    _full_shot(page, "zero_init")
    _go(page, "BatchNorm folding", "Same forward pass", TRAINING_MS)  # no press: first visit
    _no_cut_table_text(page, "batchnorm fold")
    _no_exception(page, "batchnorm fold")
    _full_shot(page, "batchnorm_fold")
    _go(page, "Compare runs", "The lecture's diagnostics")
    main = page.locator("[data-testid='stMain']").inner_text()
    assert "zeros" in main and "+BN" in main and "· built-in" in main  # both pages' runs
    assert page.get_by_text("Step", exact=True).count() == 2  # two runs side by side
    for last in ("2,999 (last)", "1,999 (last)"):  # the histograms end where the runs end
        assert page.get_by_text(last).count() >= 1, last
    assert _legends_in_layer_order(page, "compare") >= 4
    _no_cut_table_text(page, "compare")
    _no_exception(page, "compare")
    _full_shot(page, "compare")


def _param_table_row_visible(page, tensor: str) -> bool:
    """Is the row naming the tensor drawn whole inside its table (st.table draws every
    row, no inner scroll), and within the window once the page scrolls to it?"""
    table = page.locator("[data-testid='stTable']", has_text=tensor).first
    row = table.locator("tr", has_text=tensor).first
    row.wait_for(state="visible")
    row.scroll_into_view_if_needed()
    box, frame = row.bounding_box(), table.bounding_box()
    view = page.viewport_size
    inside = frame["y"] <= box["y"] and box["y"] + box["height"] <= frame["y"] + frame["height"]
    return inside and box["y"] >= 0 and box["y"] + box["height"] <= view["height"]


def test_zero_init_shows_the_trained_row_without_scrolling_its_table(server, page):
    page.goto(f"{server}/zero_init")
    _settle(page, "What trained, and why", TRAINING_MS)
    assert _param_table_row_visible(page, "layers.10.bias")


def test_one_stop_button_and_a_message_after_it(server, page):
    page.goto(f"{server}/compare?n_layers=1&n_hidden=8&steps=200000&batch_size=32")
    _settle(page, "Train new runs here")
    page.get_by_role("button", name="Train", exact=True).click()
    stops = page.get_by_role("button", name="Stop", exact=True)
    stops.first.wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"Step [1-9][\d,]* of 200,000")).first.wait_for(timeout=60_000)
    visible = [i for i in range(stops.count()) if stops.nth(i).is_visible()]
    assert len(visible) == 1  # the app's; the header's own is hidden (ui/style.py)
    stops.nth(visible[0]).click()
    note = page.get_by_text("Stopped at step", exact=False)
    note.first.wait_for(timeout=60_000)
    said = note.first.inner_text()
    assert re.search(r"Stopped at step [1-9][\d,]* of 200,000 \(.+\): nothing stored", said)
    _full_shot(page, "compare_stopped")


def test_refused_uploads_say_why_on_screen(server, page, tmp_path):
    page.goto(server)
    _settle(page, "Practice Board")
    chooser = page.locator("[data-testid='stFileUploader'] input[type=file]")
    binary = tmp_path / "weights.bin"
    binary.write_bytes(bytes(range(256)) * 8)
    chooser.set_input_files(str(binary))
    refused = page.locator("[data-testid='stAlertContentError']", has_text="was not loaded")
    refused.first.wait_for(timeout=30_000)
    why_text = page.locator("[data-testid='stText']", has_text="weights.bin")  # as text
    assert "binary data" in why_text.first.inner_text()
    big = tmp_path / "big.txt"
    big.write_bytes(b"anna\n" * 1_200_000)  # 6 MB: the browser itself refuses it
    chooser.set_input_files(str(big))
    why = page.locator("[data-testid='stFileChip'][aria-invalid='true'] [role='alert']")
    why.last.wait_for(timeout=30_000)
    assert why.last.is_visible() and why.last.bounding_box()["width"] > 50
    assert "MB or smaller" in why.last.inner_text()
    page.wait_for_timeout(1000)
    _full_shot(page, "upload_refused")


def test_a_link_over_the_limits_says_so(server, page):
    page.goto(f"{server}/compare?n_layers=99&steps=1000")
    _settle(page, "Compare runs")
    note = page.locator("[data-testid='stAlertContentWarning']", has_text="n_layers = 99")
    assert note.first.is_visible()
    assert "more than allowed (at most 8); using 2" in note.first.inner_text()
