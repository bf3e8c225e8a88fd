"""Compare runs at its most: 20 runs of one session in a real browser (Debian's chromium,
Python playwright, 1400x900), trained through the page's own form. The test asserts what
the screen shows: 20 distinct names in 20 distinct colours, a legend below the chart that
fits, whole, and a plot that keeps its size; step ticks that read as numbers (0, 50, 1k);
a long training's Stop that leaves the form open with its settings; the steps slider
zooming the chart; the lecture presets' time estimates before a click. Screenshots go to
artifacts/browser/compare_many_*.png. Skips, saying why, where chromium or playwright is
missing."""

import re

import pytest
from browser_helpers import ROOT, chromium, chromium_page, streamlit_server

pytestmark = pytest.mark.slow

SHOTS = ROOT / "artifacts" / "browser"
WIDE = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
TRAINING_MS = 300_000
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
NO_SKELETON = """() => ![...document.querySelectorAll("[data-testid='stSkeleton']")]
  .some(e => e.offsetParent !== null)"""
# 8 runs a press (2 activations x 2 inits x 2 seeds), 300 steps of 1 x 8: seconds each
FIRST = "compare?n_layers=1&n_hidden=8&steps=300&activations=tanh,sigmoid&inits=kaiming,normal"
TICK = re.compile(r"^(0|[1-9]\d{0,2}|[1-9]\d*(\.\d+)?[kM])$")  # 0, 50, 500, 1k, 1.5k, 200k


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    env = {"PRACTICE_BOARD_CACHE": str(tmp_path_factory.mktemp("cache"))}
    env["PRACTICE_BOARD_WARM"] = "0"  # this test's trainings alone on the machine
    with streamlit_server(env) as url, chromium() as browser:
        SHOTS.mkdir(parents=True, exist_ok=True)
        yield url, browser


@pytest.fixture(scope="module")
def page(served):
    """One learner's page, through the tests of this module in order."""
    url, browser = served
    p = chromium_page(browser, WIDE)
    p.url_root = url
    yield p
    p.context.close()


def settle(page, text: str, timeout_ms: int = 120_000) -> None:
    """Wait until text is on screen and the app's script has finished its run."""
    page.get_by_text(text, exact=False).first.wait_for(timeout=timeout_ms)
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    page.wait_for_function(NO_SKELETON, timeout=timeout_ms)


def shot(page, name: str, locator=None) -> None:
    if locator is None:
        page.screenshot(path=SHOTS / f"compare_many_{name}.png", full_page=True)
    else:
        locator.screenshot(path=SHOTS / f"compare_many_{name}.png")


def set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_selector(IDLE, timeout=60_000)


def train(page, runs_after: int) -> None:
    page.get_by_role("button", name="Train", exact=True).click()
    settle(page, f"All {runs_after} runs of this session", TRAINING_MS)


ZOOMED = """() => [...document.querySelectorAll("[data-testid='stVegaLiteChart']")]
    .filter(c => c.textContent.includes("loss (nats)"))
    .some(c => [...c.querySelectorAll(".role-axis")]
        .filter(a => a.textContent.includes("step"))
        .some(a => { const t = a.querySelector(".role-axis-label text");
                     return t && Number(t.textContent) >= 100; }))"""  # the zoomed axis


def loss_chart(page):
    return page.locator("[data-testid='stVegaLiteChart']").filter(has_text="loss (nats)").first


def tick_labels(chart) -> list[str]:
    """The step axis' tick labels (the axis titled "step")."""
    axis = chart.locator(".role-axis").filter(has=chart.page.locator("text", has_text="step"))
    return [t.text_content() for t in axis.first.locator(".role-axis-label text").all()]


def plot_height(chart, title: str) -> float:
    """The height of the loss axis titled title (its ticks' span: the plot's own height,
    the legend apart)."""
    axis = chart.locator(".role-axis").filter(has=chart.page.locator("text", has_text=title))
    return axis.first.bounding_box()["height"]


def test_twenty_runs_on_compare_stay_readable(page):
    page.goto(f"{page.url_root}/{FIRST}&seeds=2")
    settle(page, "Train new runs here")
    form = page.locator("[data-testid='stExpander']").filter(has_text="Train new runs here")
    train(page, 8)
    assert form.locator("details").get_attribute("open") is not None  # kept open
    set_number(page, "Width", 9)
    train(page, 16)
    ticks = tick_labels(loss_chart(page))
    assert ticks and all(TICK.match(t) for t in ticks), ticks  # 300 steps: 0, 50, ... 300
    assert not any(t.endswith("k") for t in ticks), ticks

    # a long training: the live chart's ticks, then Stop; the form keeps its settings
    set_number(page, "Width", 10)
    page.get_by_label("Seeds", exact=True).fill("1")
    set_number(page, "Steps", 200_000)
    estimate = form.get_by_text("Training: about").first.inner_text()
    page.get_by_role("button", name="Train", exact=True).click()
    live = page.locator("[data-testid='stVegaLiteChart']").filter(has_text="minibatch loss")
    page.wait_for_function(
        """() => [...document.querySelectorAll("[data-testid='stVegaLiteChart']")]
          .some(c => c.textContent.includes("minibatch loss") && /\\dk/.test(c.textContent))""",
        timeout=TRAINING_MS,
    )
    live_ticks = tick_labels(live.first)
    assert plot_height(live.first, "minibatch loss") >= 180  # 4 runs, legend below
    assert any(t.endswith("k") for t in live_ticks), live_ticks
    assert all(TICK.match(t) for t in live_ticks), live_ticks  # never 0k, 0.05k
    shot(page, "live_ticks", live.first)
    page.get_by_role("button", name="Stop", exact=True).click()
    settle(page, "Stopped at step")
    assert form.locator("details").get_attribute("open") is not None  # not collapsed
    assert page.get_by_role("button", name="Train", exact=True).is_visible()
    assert page.get_by_label("Steps", exact=True).input_value() == "200000"
    assert page.get_by_label("Width", exact=True).input_value() == "10"
    # the stopped training, still ending, is not counted as another one on this server
    assert form.get_by_text("Training: about").first.inner_text() == estimate
    page.get_by_text("Stopped at step").first.scroll_into_view_if_needed()
    shot(page, "stopped")

    set_number(page, "Steps", 300)
    train(page, 20)
    chart = loss_chart(page)
    chart.scroll_into_view_if_needed()
    labels = [t.text_content() for t in chart.locator(".role-legend-label text").all()]
    names = [t for t in labels if t.startswith("#")]
    assert len(names) == 20 == len(set(names)), names  # every run, each its own name
    assert not any(n.endswith("…") for n in names)  # none cut
    symbols = chart.locator(".role-legend").filter(has_text="#1 ").first
    colours = {
        s.get_attribute("stroke") or s.get_attribute("fill")
        for s in symbols.locator(".role-legend-symbol path").all()
    }
    assert len(colours) == 20, colours
    box = chart.bounding_box()
    for label in chart.locator(".role-legend-label text").all():  # the legend fits, whole
        b = label.bounding_box()
        assert box["x"] <= b["x"] and b["x"] + b["width"] <= box["x"] + box["width"]
        assert b["y"] + b["height"] <= box["y"] + box["height"] + 1
    frame = chart.locator(".mark-group.role-frame").first.bounding_box()
    assert frame["width"] > 0.6 * WIDE["width"] - 120  # the legend below, not beside
    assert plot_height(chart, "loss (nats)") >= 200  # the plot keeps its size at 20 runs
    shot(page, "20_runs")
    shot(page, "legend", chart)

    # the steps slider: the lower end moved, the chart starts there
    lower = page.locator("[data-testid='stSlider']").filter(has_text="Steps shown")
    thumb = lower.get_by_role("slider").first
    thumb.focus()
    for _ in range(50):  # 2 steps a press: to 100
        thumb.press("ArrowRight")
    page.wait_for_selector(IDLE, timeout=60_000)
    page.wait_for_function(NO_SKELETON, timeout=60_000)
    # the slider's value reaches the server on release, and the chart is drawn again: wait
    # for a step axis whose first label is no longer 0
    page.wait_for_function(ZOOMED, timeout=120_000)
    page.wait_for_selector(IDLE, timeout=60_000)
    ticks = tick_labels(loss_chart(page))
    assert ticks and int(ticks[0]) >= 100 and ticks[-1] == "300", ticks
    assert plot_height(loss_chart(page), "loss (nats)") >= 200
    shot(page, "zoomed", loss_chart(page))


def test_the_lecture_presets_say_their_time_before_a_click(page):
    if "/compare" not in page.url:
        page.goto(f"{page.url_root}/compare")
    settle(page, "Lecture runs")
    section = page.get_by_text("Lecture runs", exact=True).first
    section.scroll_into_view_if_needed()
    button = page.get_by_role("button", name=re.compile(r"^Train: 2-layer net \(1×200"))
    row = page.locator("[data-testid='stHorizontalBlock']").filter(has=button).first
    assert re.search(r"Training: about [\d,]+ (s|min) on this server now\.", row.inner_text())
    note = page.get_by_text("not the lecture's names.txt", exact=False).first.inner_text()
    assert "the sidebar's “Upload a word list” (under Data set)" in note
    assert page.locator("[data-testid='stSidebar']").get_by_text("Upload a word list").count()
    for b in page.get_by_role("button", name=re.compile(r"^(Train|Show): ")).all():
        assert b.evaluate(WHOLE), b.inner_text()  # every label whole, its steps included
    row.scroll_into_view_if_needed()
    shot(page, "presets")


# no text of the element cut: every descendant's text fits its box
WHOLE = """e => [e, ...e.querySelectorAll("*")].every(x => x.scrollWidth <= x.clientWidth + 1)"""


def test_a_presets_whole_label_and_estimate_on_a_phone(served):
    url, browser = served
    phone = chromium_page(browser, PHONE)
    phone.goto(f"{url}/compare")
    settle(phone, "Lecture runs")
    buttons = phone.get_by_role("button", name=re.compile(r"^(Train|Show): ")).all()
    assert len(buttons) == 6
    for b in buttons:
        assert b.evaluate(WHOLE), b.inner_text()  # wrapped, never cut
        assert re.search(r"· [\d,]+ steps$", b.inner_text()), b.inner_text()
    last = buttons[-1]
    last.scroll_into_view_if_needed()
    shot(phone, "presets_phone")
    phone.context.close()
