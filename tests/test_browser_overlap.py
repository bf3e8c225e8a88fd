"""What a learner sees where lines, waits and progress could hide from them, in a real
browser at 1400x900: a click on a layer's name in a histogram's legend picks its line out
(the others fade), a visit that waits for the server's warm-up sees how far it is (never an
empty bar), and a lecture preset pressed at the window's bottom edge brings its Stop button
and progress bar into the window. Screenshots in artifacts/browser/. Skips, saying why,
where chromium or playwright is missing."""

import json
import time

import pytest
from browser_helpers import ROOT, chromium, chromium_page, streamlit_server

from hosting import warm
from mlp_core.zero_init import ZERO_INIT_DEFAULT
from ui import charts, layer_charts
from ui.waiting import WARM_UP

SHOTS = ROOT / "artifacts" / "browser"
VIEW = {"width": 1400, "height": 900}
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
TRAINING_MS = 240_000
ANSWER = "What trained, and why"
LINES = "[data-testid='stVegaLiteChart'] .mark-line path"

pytestmark = pytest.mark.slow


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png")


def opacities(chart) -> dict[str, float]:
    """Each line of a chart (Vega's svg: one path per line, its aria-label naming the
    layer) and its opacity on screen."""
    return chart.evaluate(
        """c => Object.fromEntries([...c.querySelectorAll(".mark-line path")].map(p => [
          p.getAttribute("aria-label").match(/layer: ([^;]+)/)[1],
          parseFloat(p.getAttribute("opacity") ?? "1")]))"""
    )


def test_a_click_on_a_layer_in_the_legend_picks_its_line_out(tmp_path):
    with streamlit_server({"PRACTICE_BOARD_CACHE": str(tmp_path)}) as url, chromium() as browser:
        page = chromium_page(browser, VIEW)
        page.goto(f"{url}/zero_init?layers=3&n_hidden=8&steps=300")
        page.get_by_text(ANSWER).first.wait_for(timeout=TRAINING_MS)
        page.wait_for_selector(IDLE, timeout=TRAINING_MS)
        assert page.get_by_text(charts.PICK_NOTE).count() >= 1
        chart = page.locator("[data-testid='stVegaLiteChart']", has_text="Activations").first
        chart.scroll_into_view_if_needed()
        page.wait_for_function(f'() => document.querySelector("{LINES}")')
        before = opacities(chart)
        assert len(before) == 3 and set(before.values()) == {charts.SHOWN}
        picked = sorted(before, key=layer_charts.layer_key)[1]
        chart.locator(".role-legend-label text", has_text=picked).click()
        faded = (  # some line faded
            f"[...document.querySelectorAll({json.dumps(LINES)})]"
            f".some(p => p.getAttribute('opacity') == {charts.FADED})"
        )
        page.wait_for_function(f"() => {faded}", timeout=30_000)  # the chart redrawn
        after = opacities(chart)
        assert after[picked] == charts.SHOWN
        assert all(after[n] == charts.FADED for n in after if n != picked)
        shot(page, "overlap_legend_pick")
        box = chart.locator("svg").first.bounding_box()
        page.mouse.dblclick(box["x"] + box["width"] / 3, box["y"] + box["height"] / 2)
        page.wait_for_function(f"() => !({faded})", timeout=30_000)
        assert set(opacities(chart).values()) == {charts.SHOWN}  # every line again
        assert page.locator("[data-testid='stException']").count() == 0


# every state of the page's wait, kept as it happens: a bar's words and value, or a
# running state's words (st.status) about the warm-up
SEEN = """window.seen = [];
document.addEventListener("DOMContentLoaded", () => {
  new MutationObserver(() => {
    for (const b of document.querySelectorAll("[data-testid='stProgress']")) {
      const v = b.querySelector("[role='progressbar']");
      window.seen.push({bar: b.innerText, value: v ? +v.getAttribute("aria-valuenow") : -1});
    }
    for (const s of document.querySelectorAll("[data-testid='stExpander']")) {
      if (s.innerText.includes("WARM_UP")) window.seen.push({status: s.innerText});
    }
  }).observe(document.body, {childList: true, subtree: true, attributes: true});
});""".replace("WARM_UP", WARM_UP)


def test_a_visit_that_waits_for_the_warm_up_sees_how_far_it_is(tmp_path):
    env = {"PRACTICE_BOARD_CACHE": str(tmp_path), warm.WARM_ENV: "1"}
    with streamlit_server(env) as url, chromium() as browser:
        page = chromium_page(browser, VIEW)  # as the server answers: the warm-up trains
        page.add_init_script(SEEN)
        page.goto(f"{url}/zero_init")
        page.get_by_text(WARM_UP).first.wait_for(timeout=60_000)
        shot(page, "overlap_warm_up_wait")
        moving = page.locator("[data-testid='stProgress']", has_text=WARM_UP)
        moving.first.wait_for(timeout=TRAINING_MS)  # its first curve point: how far it is
        shot(page, "overlap_warm_up_progress")
        page.get_by_text(ANSWER).first.wait_for(timeout=TRAINING_MS)
        page.wait_for_selector(IDLE, timeout=TRAINING_MS)
        seen = page.evaluate("() => window.seen")
        about = [s for s in seen if WARM_UP in s.get("bar", s.get("status", ""))]
        bars = [s for s in about if "bar" in s]
        assert bars and all(s["value"] > 0 for s in bars), about  # a bar about it moves
        steps = f" of {ZERO_INIT_DEFAULT.train.steps:,};"  # the default pair's steps
        assert all(steps in s["bar"] for s in bars)
        assert all(s["status"].startswith(WARM_UP) for s in about if "status" in s)
        empty = [s for s in seen if "bar" in s and s["value"] <= 0 and "Starting" not in s["bar"]]
        assert not empty, empty  # never an empty bar, but for the start's estimate
        assert page.locator("[data-testid='stException']").count() == 0


IN_WINDOW = """sel => [...document.querySelectorAll(sel)].some(e => {
  const r = e.getBoundingClientRect();
  return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
})"""


def test_a_pressed_presets_progress_is_in_the_window(tmp_path):
    with streamlit_server({"PRACTICE_BOARD_CACHE": str(tmp_path)}) as url, chromium() as browser:
        page = chromium_page(browser, VIEW)
        page.goto(f"{url}/compare")
        page.get_by_text("Lecture runs").first.wait_for(timeout=60_000)
        page.wait_for_selector(IDLE, timeout=60_000)
        button = page.locator(".st-key-preset-0 button")  # 200,000 steps: Stop ends it
        button.evaluate("b => b.scrollIntoView({block: 'end'})")  # at the window's foot
        page.wait_for_timeout(300)
        assert button.bounding_box()["y"] + button.bounding_box()["height"] > VIEW["height"] - 60
        button.click()
        bar = "[data-testid='stProgress']"
        page.wait_for_function(
            f'() => ({IN_WINDOW})("{bar}") && ({IN_WINDOW})(".st-key-stop-compare")',
            timeout=60_000,
        )
        time.sleep(0.5)  # the smooth scroll at rest
        assert page.evaluate(IN_WINDOW, bar) and page.evaluate(IN_WINDOW, ".st-key-stop-compare")
        shot(page, "overlap_preset_progress")
        page.get_by_role("button", name="Stop", exact=True).click()
        page.get_by_text("nothing stored").first.wait_for(timeout=60_000)
        assert page.locator("[data-testid='stException']").count() == 0
