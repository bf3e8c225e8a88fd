"""A learner's session in a real browser (Debian's chromium, Python playwright), at
1400x900 and on a phone (390x844): links that open what they name, the notebook
arithmetic's step counts, and Compare at many runs. Each test asserts what the screen
shows and leaves its screenshot in artifacts/browser/. Skips, saying why, where chromium
or playwright is missing."""

import re

import pytest
from browser_helpers import ROOT, chromium, chromium_page, streamlit_server

SHOTS = ROOT / "artifacts" / "browser"
WIDE = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
TRAINING_MS = 240_000
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
LINK_NOTE = "[data-testid='stAlertContentWarning']"

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


def new_page(browser, viewport=WIDE):
    return chromium_page(browser, viewport)


def settle(page, text: str, timeout_ms: int = 60_000) -> None:
    """Wait until text is on screen and the app's script has finished its run."""
    page.get_by_text(text, exact=False).first.wait_for(timeout=timeout_ms)
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    page.wait_for_function(NO_SKELETON, timeout=timeout_ms)


NO_SKELETON = """() => ![...document.querySelectorAll("[data-testid='stSkeleton']")]
  .some(e => e.offsetParent !== null)"""  # widgets drawn (they load lazily), not placeholders


def shot(page, name: str) -> None:
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


SMALL_ZERO_INIT = "layers=1&n_hidden=8&steps=300"


def test_a_copied_zero_init_link_opens_what_it_names_without_a_note(server, browser):
    page = new_page(browser)
    page.goto(f"{server}/zero_init?{SMALL_ZERO_INIT}")
    settle(page, "What trained, and why", TRAINING_MS)
    copied = page.url  # the address bar, as the app wrote it
    assert "compare_gain=0.0" in copied
    other = new_page(browser)
    other.goto(copied)
    settle(other, "What trained, and why", TRAINING_MS)
    assert other.locator(LINK_NOTE).count() == 0
    assert other.get_by_label("Steps").input_value() == "300"
    shot(other, "learner_link_zero_init")


def test_link_notes_are_said_once_and_name_junk(server, browser):
    page = new_page(browser)
    page.goto(f"{server}/compare?n_layers=99&activations=tanh,foo&bogus=3")
    settle(page, "Train new runs here")
    notes = [n.inner_text() for n in page.locator(LINK_NOTE).all()]
    assert len([n for n in notes if "n_layers = 99" in n]) == 1
    assert any("activations = … foo is not one of the choices" in n for n in notes)
    assert any("bogus = 3 is not a setting of this page" in n for n in notes)
    shot(page, "learner_link_notes")


NOTEBOOK = "zero_init?activation=sigmoid&layers=1&n_hidden=8&arithmetic=notebook"


def test_the_notebook_arithmetic_counts_each_runs_own_steps(server, browser):
    page = new_page(browser)
    page.goto(f"{server}/{NOTEBOOK}&steps=20000")
    bar = page.get_by_text(re.compile(r"Step [1-9][\d,]* of 20,000 in run 1 of 2 \(.+\)"))
    bar.first.wait_for(timeout=TRAINING_MS)
    page.get_by_text(re.compile(r"in run 2 of 2")).first.wait_for(timeout=TRAINING_MS)
    shot(page, "learner_notebook_progress")
    page.get_by_role("button", name="Stop", exact=True).last.click()
    note = page.get_by_text("Stopped at step", exact=False).first
    note.wait_for(timeout=60_000)
    said = note.inner_text()
    assert re.search(r"Stopped at step [1-9][\d,]* of 20,000 in run 2 of 2 \(.+\)", said), said
    shot(page, "learner_notebook_stopped")


def test_a_notebook_runs_histograms_end_at_its_last_step(server, browser):
    page = new_page(browser)
    page.goto(f"{server}/{NOTEBOOK}&steps=2000")
    settle(page, "What trained, and why", TRAINING_MS)
    page.get_by_text("1,999 (last)").first.wait_for()
    assert page.get_by_text("1,599 (last)").count() == 0
    shot(page, "learner_notebook_histograms")


MANY = "compare?n_layers=1&n_hidden=8&steps=300&activations=tanh,sigmoid,relu&inits=kaiming,normal"


@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["wide", "phone"])
def test_compare_tells_many_runs_apart(server, browser, viewport):
    page = new_page(browser, viewport)
    page.goto(f"{server}/{MANY}")
    settle(page, "Compare runs")
    if not page.get_by_text("What differs").count():  # a link to stored runs shows them
        page.get_by_role("button", name="Train", exact=True).click()
    settle(page, "What differs", TRAINING_MS)
    chart = page.locator("[data-testid='stVegaLiteChart']").first
    labels = [t.text_content() for t in chart.locator(".role-legend-label text").all()]
    assert len([t for t in labels if t.startswith("#")]) == 6  # every run named, none cut
    plot = chart.locator(".role-frame path, .mark-group.role-frame").first.bounding_box()
    assert plot["width"] > 0.6 * viewport["width"] - 120  # the legend is below, not beside
    cells = page.locator("[data-testid='stTable'] td").all_inner_texts()
    assert "Activation" in cells and "init" not in cells  # the widgets' words
    chart.scroll_into_view_if_needed()
    shot(page, f"learner_compare_{'phone' if viewport is PHONE else 'wide'}")
