"""The init landscape in a real browser (Debian's chromium, Python playwright, 1400x900):
the heatmap renders with a cell per depth and scale, a cell's tooltip has its numbers, a
click opens the cell's run on Zero init (and, picked instead, on Compare runs), and the
trained grid fills in live, depth by depth, while its sweep runs. Vega draws SVG: each
cell is a path whose aria-label carries its tooltip's fields, which is what the tests
read. A grid drawn between two rows may stand for a fraction of a second on a fast
machine, so the live filling is read from a record the page keeps of every grid it drew
(a MutationObserver), never by polling for a passing state. Full-page screenshots land in
artifacts/browser/. Skips, saying why, where chromium or playwright is missing."""

import math
import re

import pytest
from browser_helpers import ROOT, chromium, chromium_page, streamlit_server

SHOTS = ROOT / "artifacts" / "browser"
VIEW = {"width": 1400, "height": 900}
LONG_MS = 600_000  # a whole grid on a busy 2-core box
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
CHART = "[data-testid='stVegaLiteChart']"
CELL = "path[aria-label*='cell: {depth} hidden layer{s}, {scale};']"
STEPS = 100  # the trained view's N here: short runs, the same sweep
STOP_STEPS = 1000  # rows long enough that a Stop pressed after the first lands before the last
FIRST_ROW_DONE = r"""() => [...document.querySelectorAll("[data-testid='stVegaLiteChart'] path")]
  .some((p) => /cell: 1 hidden layer, 1×;.*dev loss: \d/.test(p.getAttribute("aria-label")))"""
RECORD = """() => {
  window.__grids = [];
  const snap = () => {
    const chart = document.querySelector("[data-testid='stVegaLiteChart']");
    if (!chart) return;
    const done = new Set(), pending = new Set();
    for (const p of chart.querySelectorAll("path[aria-label*='hidden layer']")) {
      const l = p.getAttribute("aria-label"), m = l.match(/cell: (\\d+) hidden layers?, ([^;]+);/);
      if (!m) continue;
      (l.includes("not trained yet") ? pending : done).add(m[1] + "|" + m[2]);
    }
    const grid = {done: [...done].sort(), pending: [...pending].sort()};
    const last = window.__grids[window.__grids.length - 1];
    if (!last || JSON.stringify(last) !== JSON.stringify(grid)) window.__grids.push(grid);
  };
  new MutationObserver(snap).observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["aria-label"],
  });
}"""

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


def rows(cells: list[str]) -> set[int]:
    """The depths of cells written "depth|scale"."""
    return {int(c.split("|")[0]) for c in cells}


def drawn_row_by_row(grids: list[dict]) -> list[int]:
    """Of the grids a page drew, those drawn while rows were still missing, as how many
    rows each had done: the done cells whole rows from the shallowest down and every other
    cell pending, a grid filling in depth by depth."""
    out = []
    for g in grids:
        done, pending = rows(g["done"]), rows(g["pending"])
        whole = len(g["done"]) == 9 * len(done) and len(g["done"]) + len(g["pending"]) == 72
        if done and pending and whole and max(done) < min(pending):
            out.append(len(done))
    return out


def marks(page, depth: int, scale: str):
    """A cell's marks in the page's first chart (while a sweep runs, the chart of the run
    before it may still stand below, stale)."""
    s = "" if depth == 1 else "s"
    return page.locator(CHART).first.locator(CELL.format(depth=depth, s=s, scale=scale))


def cell(page, depth: int, scale: str):
    """A cell's first mark (the grey one under the colour: every cell has it)."""
    return marks(page, depth, scale).first


def label(page, depth: int, scale: str) -> str:
    """What a cell says now: its last mark's aria-label (the coloured one when it has one)."""
    return marks(page, depth, scale).last.get_attribute("aria-label")


def point(page, depth: int, scale: str, click: bool = False) -> None:
    """Move the mouse onto a cell (near its corner, off the number written in it), as a
    visitor does, and click it if asked."""
    box = cell(page, depth, scale).bounding_box()
    x, y = box["x"] + 6, box["y"] + 6
    page.mouse.click(x, y) if click else page.mouse.move(x, y)


def shot(page, name: str) -> None:
    main = page.locator("[data-testid='stMain']")
    height = page.evaluate("(el) => el.scrollHeight", main.element_handle())
    page.set_viewport_size({"width": VIEW["width"], "height": max(VIEW["height"], height)})
    page.wait_for_timeout(1000)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)
    page.set_viewport_size(VIEW)


def test_the_at_init_heatmap_its_tooltip_and_a_click_to_zero_init(server, page):
    page.goto(f"{server}/landscape")
    cell(page, 8, "10×").wait_for(timeout=120_000)
    every = page.locator(CHART).first.locator("path[aria-label*='hidden layer']")
    assert every.count() >= 8 * 9  # a mark for every depth and scale
    zero = "0 (zero init)"  # cells' left edges (a box's width has its stroke too):
    x = {s: cell(page, 8, s).bounding_box()["x"] for s in (zero, "0.01×", "0.1×", "2×", "3×")}
    decade = x["0.1×"] - x["0.01×"]  # the x axis is log10 of the scale; a cell reaches
    # halfway to each neighbour: 2x's from sqrt(2)x to sqrt(6)x, half of log10(3) wide
    assert x["3×"] - x["2×"] == pytest.approx(decade * math.log10(3) / 2, rel=0.03)
    width = cell(page, 8, zero).bounding_box()["width"]  # and zero init stands apart
    assert x["0.01×"] - x[zero] > width + 0.2 * decade
    point(page, 8, "10×")
    tip = page.locator("#vg-tooltip-element")
    tip.get_by_text("saturated per layer").wait_for(timeout=30_000)
    text = tip.inner_text()
    assert "8 hidden layers, 10×" in text and "kaiming, gain 16.67" in text
    assert "loss at init" in text and "gradient first / last" in text
    shot(page, "landscape_at_init_tooltip")
    point(page, 3, "0.5×", click=True)
    page.wait_for_url(re.compile(r"/zero_init\?.*compare_gain=0\.833"), timeout=60_000)
    page.get_by_text("What trained, and why", exact=False).first.wait_for(timeout=LONG_MS)
    page.wait_for_selector(IDLE, timeout=LONG_MS)
    main = page.locator("[data-testid='stMain']").inner_text()
    assert "kaiming init (gain 0.8333)" in main
    assert "layers.6.bias" in main  # 3 hidden layers: the output bias is layers.6
    shot(page, "landscape_click_zero_init")


def test_the_trained_grid_fills_in_live_and_a_click_opens_compare(server, page):
    page.goto(f"{server}/landscape?view=trained&steps={STEPS}&opens=compare")
    page.evaluate(RECORD)
    page.get_by_role("button", name=re.compile("Train the 72 missing cells")).click()
    page.wait_for_function("() => window.__grids.some((g) => g.done.length > 0)", timeout=LONG_MS)
    shot(page, "landscape_filling")  # on a fast machine the grid may be whole already
    page.get_by_role("button", name="Stop").wait_for(state="detached", timeout=LONG_MS)
    page.wait_for_selector(IDLE, timeout=LONG_MS)
    filled = drawn_row_by_row(page.evaluate("window.__grids"))
    assert filled, "no grid was drawn with the shallow rows done and the deep ones pending"
    assert filled == sorted(filled)  # row by row, shallowest first
    cell(page, 8, "1×").wait_for(timeout=60_000)
    pending = page.locator(CHART).first.locator("path[aria-label*='not trained yet']")
    assert pending.count() == 0
    assert "trains: layers.8.bias;" in label(page, 4, "0 (zero init)") + ";"
    shot(page, "landscape_trained")
    val = re.search(r"dev loss: (\d\.\d{4}),", label(page, 2, "3×")).group(1)
    point(page, 2, "3×", click=True)
    page.wait_for_url(re.compile(r"/compare"), timeout=60_000)
    page.get_by_text("tanh kaiming gain 5 2×100 s42", exact=False).first.wait_for(timeout=60_000)
    page.locator("*:visible", has_text=re.compile(f"^{val}$")).last.wait_for(timeout=60_000)
    shot(page, "landscape_click_compare")


def test_stop_keeps_the_rows_already_done(server, page):
    page.goto(f"{server}/landscape?view=trained&steps={STOP_STEPS}&activation=relu")
    page.get_by_role("button", name=re.compile("Train the 72 missing cells")).click()
    page.wait_for_function(FIRST_ROW_DONE, timeout=LONG_MS)  # seven rows to go: Stop
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("Stopped: the rows finished before the Stop are kept").wait_for(
        timeout=LONG_MS
    )
    page.wait_for_selector(IDLE, timeout=LONG_MS)
    assert "dev loss: 2." in label(page, 1, "1×")
    assert "not trained yet" in label(page, 8, "1×")
    again = page.get_by_role("button", name=re.compile(r"Train the \d+ missing cells"))
    assert int(re.search(r"Train the (\d+)", again.inner_text()).group(1)) < 72
    shot(page, "landscape_stopped")
