"""Every page on a phone (390x844) in a real browser (Debian's chromium, Python playwright):
Zero init's parameter table keeps its last columns on screen, the fold formulas fit, the
bigram heatmap is whole, the preset buttons keep their order, and the sidebar closes once a
page is chosen. Each test asserts what the screen shows and leaves its screenshot in
artifacts/browser/. Skips, saying why, where chromium or playwright is missing."""

import pytest
import test_browser_learner as learner
from test_browser_learner import PHONE, TRAINING_MS, new_page, settle, shot

server, browser = learner.server, learner.browser  # the shared fixtures: one server

pytestmark = pytest.mark.slow

# nothing of it off its own box (KaTeX's struts overhang theirs by a pixel or two)
FITS = """e => e.scrollWidth <= e.clientWidth + 4"""


def right_edge(locator) -> float:
    box = locator.bounding_box()
    return box["x"] + box["width"]


def test_zero_init_table_keeps_every_column_on_a_phone(server, browser):
    page = new_page(browser, PHONE)
    page.goto(f"{server}/zero_init?layers=1&n_hidden=8&steps=300")
    settle(page, "Every parameter tensor", TRAINING_MS)
    table = page.locator("[data-testid='stTable']").filter(has_text="largest in run").first
    table.scroll_into_view_if_needed()
    for header in ("moved", "verdict"):
        cell = table.locator("th", has_text=header).first
        assert right_edge(cell) <= PHONE["width"], header
    assert table.locator("td", has_text="no gradient").first.is_visible()
    assert table.evaluate(FITS)
    shot(page, "phone_zero_init_table")


def test_zero_init_presets_keep_their_order_on_a_phone(server, browser):
    page = new_page(browser, PHONE)
    page.goto(f"{server}/zero_init?layers=1&n_hidden=8&steps=300")
    settle(page, "Try this", TRAINING_MS)
    names = ["Sigmoid", "ReLU", "Tanh + BatchNorm", "Sigmoid 1×200, 20k steps"]
    names.append("… in your notebook's arithmetic")
    tops = [page.get_by_role("button", name=n, exact=True).bounding_box()["y"] for n in names]
    assert tops == sorted(tops)  # the notebook's button right below the run it repeats
    page.get_by_role("button", name=names[-1], exact=True).scroll_into_view_if_needed()
    shot(page, "phone_zero_init_presets")


def test_the_fold_formulas_fit_a_phone(server, browser):
    page = new_page(browser, PHONE)
    page.goto(f"{server}/batchnorm_fold")
    settle(page, "Inference time", TRAINING_MS)
    formulas = page.locator(".katex-display")
    assert formulas.count() >= 4
    for f in formulas.all():
        assert f.evaluate(FITS), f.inner_text()
        assert right_edge(f.locator(".katex").first) <= PHONE["width"]
    formulas.last.scroll_into_view_if_needed()
    shot(page, "phone_fold_formulas")


def test_the_bigram_heatmap_is_whole_on_a_phone(server, browser):
    page = new_page(browser, PHONE)
    page.goto(f"{server}/dataset")
    settle(page, "Contexts")
    chart = page.locator("[data-testid='stVegaLiteChart']", has_text="Bigram counts").first
    chart.scroll_into_view_if_needed()
    drawn = chart.locator("canvas, svg").first
    drawn.wait_for()
    assert right_edge(drawn) <= PHONE["width"]
    assert "the one after it" in chart.inner_text()  # its title whole, not cut short
    shot(page, "phone_dataset_heatmap")


def sidebar_open(page) -> bool:
    return right_edge(page.locator("[data-testid='stSidebar']")) > 10


def test_the_sidebar_closes_after_choosing_a_page_on_a_phone(server, browser):
    page = new_page(browser, PHONE)
    page.goto(f"{server}/dataset")
    settle(page, "Contexts")
    page.locator("[data-testid='stExpandSidebarButton']").click()
    page.wait_for_function(
        "() => document.querySelector(\"[data-testid='stSidebar']\")"
        ".getBoundingClientRect().right > 10"
    )
    page.locator("[data-testid='stSidebarNav'] a", has_text="Zero init").click()
    settle(page, "Every Linear weight", TRAINING_MS)
    page.wait_for_function(
        "() => document.querySelector(\"[data-testid='stSidebar']\")"
        ".getBoundingClientRect().right <= 10"
    )
    assert not sidebar_open(page)
    assert page.get_by_text("Every Linear weight").first.is_visible()
    assert not page.get_by_text("Deploy", exact=True).count()  # .streamlit/config.toml
    shot(page, "phone_sidebar_closed")
