"""What a user waits for, measured with AppTest in one fresh process: the first render
(imports, data load), a cached re-render, page switches, and a run's result once computed;
then in a real browser (Debian's chromium driven by playwright) on fresh servers.

    python bench/app_latency.py              # from the repository root; prints seconds
    python bench/app_latency.py --browser    # only the real-browser part (~1.5 minutes)

AppTest runs the script without a browser, so those are server-side times. The browser
part starts a fresh `streamlit run app.py` with an empty run store for every measurement,
waits until it answers its health check (the server preloads torch, the data and the
warm-up's float64 check first: ui/server.py), then opens one page at once and times (from
the start of the page load) the first title drawn and, on Zero init, the first answer:
what a visitor who opens a link to a fresh server the moment it answers waits for (issue
16: answer <= 5 s on a quiet machine, first render of any page <= 2.5 s); and the same
answer from the server process's start. Last, a fresh server left alone until its warm-up
(hosting/warm.py) has stored the pages' default runs, then a visitor opens Home and
clicks Zero init: the seconds from the process's start until that warm-up is done, and
from the click to the answer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")
os.environ["PRACTICE_BOARD_CACHE"] = tempfile.mkdtemp(prefix="pb-bench-")  # a cold store
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from browser_helpers import CHROMIUM, CHROMIUM_ARGS, start_streamlit, wait_healthy  # noqa: E402
from streamlit.runtime.pages_manager import PagesManager  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from ui.navigation import apptest_init  # noqa: E402

APP = str(ROOT / "app.py")
REPEAT = 5
TINY = {"cmp_n_layers": 2, "cmp_n_hidden": 16, "cmp_steps": 200}


def timed(fn) -> float:
    t0 = time.perf_counter()
    at = fn()
    seconds = time.perf_counter() - t0
    assert not at.exception, at.exception
    return seconds


def median(fn) -> float:
    return statistics.median(timed(fn) for _ in range(REPEAT))


def train_tiny(at: AppTest) -> AppTest:
    for key, value in TINY.items():
        at.number_input(key=key).set_value(value)
    at.multiselect(key="cmp_activations").set_value(["tanh", "relu"])
    return at.button(key="cmp_train").click().run()


# ---------------------------------------------------------------- a real browser

PAGE_PATHS = ["", "dataset", "zero_init", "batchnorm_fold", "compare"]
ANSWER = "What trained, and why"  # the zero-init page's answer heading
BROWSER_REPEAT = 3


def _fresh_server(store: str | None = None) -> tuple[subprocess.Popen, str, float]:
    """`streamlit run app.py` on a free port with an empty run store (``store``, or a new
    temp folder); returns the process, its URL and the seconds until its health check
    answered."""
    t0 = time.perf_counter()
    proc, url = start_streamlit({"PRACTICE_BOARD_CACHE": store or tempfile.mkdtemp(prefix="pb-")})
    try:
        wait_healthy(url, proc, poll=0.05)
    except (RuntimeError, TimeoutError):
        proc.kill()
        raise RuntimeError("streamlit did not start") from None
    return proc, url, time.perf_counter() - t0


def _open(browser, path: str, answer: bool) -> dict:
    """Fresh server, one page: seconds to the server's health, the first title (h1) and,
    with ``answer``, the zero-init answer."""
    start = time.perf_counter()
    proc, url, ready = _fresh_server()
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        t0 = time.perf_counter()
        page.goto(f"{url}/{path}")
        page.locator("h1").first.wait_for(timeout=180_000)
        out = {"server_ready_s": ready, "title_s": time.perf_counter() - t0}
        if answer:
            page.get_by_text(ANSWER).first.wait_for(timeout=180_000)
            out["answer_s"] = time.perf_counter() - t0
            out["from_start_s"] = time.perf_counter() - start
        page.close()
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _home_then_zero_init(browser) -> dict:
    """Fresh server, left alone: its warm-up (hosting/warm.py) stores the pages' default
    runs; then a visitor opens Home and clicks Zero init. Seconds from the server process's
    start until the warm-up's runs are stored, and from the click to the answer."""
    from mlp_core.store import RunStore
    from ui import training

    store = Path(tempfile.mkdtemp(prefix="pb-"))
    wanted = sum(len(cfgs) for cfgs in training.default_experiments())
    t0 = time.perf_counter()
    proc, url, _ = _fresh_server(str(store))
    try:
        end = time.monotonic() + 300  # the warm-up died if it takes this long
        while len(RunStore(store).entries()) < wanted:
            if time.monotonic() > end:
                raise RuntimeError("the warm-up did not store its runs")
            time.sleep(0.05)
        warmed = time.perf_counter() - t0
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.locator("h1").first.wait_for(timeout=180_000)
        t1 = time.perf_counter()
        page.locator("[data-testid='stSidebarNav']").get_by_text("Zero init", exact=True).click()
        page.get_by_text(ANSWER).first.wait_for(timeout=180_000)
        out = {"warmed_s": warmed, "answer_after_click_s": time.perf_counter() - t1}
        page.close()
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def browser_rows() -> list[tuple[str, float]]:
    from playwright.sync_api import sync_playwright

    load = os.getloadavg()[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            answers = [_open(browser, "zero_init", True) for _ in range(BROWSER_REPEAT)]
            firsts = {path: _open(browser, path, False) for path in PAGE_PATHS}
            warmed = [_home_then_zero_init(browser) for _ in range(BROWSER_REPEAT)]
        finally:
            browser.close()
    rows = [
        ("browser, fresh server: health check answers", _median(answers, "server_ready_s")),
        ("browser, fresh server: /zero_init title drawn", _median(answers, "title_s")),
        ("browser, fresh server: /zero_init first answer", _median(answers, "answer_s")),
        (
            "browser, the same answer from the server's start",
            _median(answers, "from_start_s"),
        ),
    ]
    rows += [
        (f"browser, fresh server: first render of /{p}", r["title_s"]) for p, r in firsts.items()
    ]
    rows += [
        ("browser, fresh server left alone: start -> warm-up stored", _median(warmed, "warmed_s")),
        (
            "browser, then a click on Zero init -> its answer",
            _median(warmed, "answer_after_click_s"),
        ),
    ]
    print(
        f"load average {load:.2f} -> {os.getloadavg()[0]:.2f}; first answers (s): "
        + ", ".join(f"{a['answer_s']:.2f}" for a in answers)
        + "; from the server's start: "
        + ", ".join(f"{a['from_start_s']:.2f}" for a in answers)
    )
    return rows


def _median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--browser", action="store_true", help="only the real-browser part")
    if ap.parse_args().browser:
        _print(browser_rows())
        return
    rows = apptest_rows()
    if os.path.exists(CHROMIUM):
        rows += browser_rows()
    else:
        print(f"no chromium at {CHROMIUM}: the real-browser part is skipped")
    _print(rows)


def _print(rows: list[tuple[str, float]]) -> None:
    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        print(f"{name:<{width}}  {seconds * 1000:8.0f} ms")


def apptest_rows() -> list[tuple[str, float]]:
    PagesManager.__init__ = apptest_init()  # as tests/conftest.py does: ui/navigation.py
    at = AppTest.from_file(APP, default_timeout=300)
    rows = [("cold first render: home (imports, default data)", timed(at.run))]
    rows.append(("first visit: dataset page", timed(at.switch_page("pages/dataset.py").run)))
    rows.append(("cached re-render: dataset page", median(at.run)))

    def round_trip():
        at.switch_page("pages/compare.py").run()
        return at.switch_page("pages/dataset.py").run()

    rows.append(("page switch: dataset -> compare -> dataset", median(round_trip) / 2))
    at.switch_page("pages/compare.py").run()
    rows.append(("train 2 runs (2x16, 200 steps, stacked)", timed(lambda: train_tiny(at))))
    rows.append(("cached re-render: compare, 2 runs", median(at.run)))
    link = dict(at.query_params)

    def open_link():
        other = AppTest.from_file(APP, default_timeout=300)
        other.query_params.update(link)
        other.run()
        return other.switch_page("pages/compare.py").run()

    rows.append(("new session opens the link (store hit, 2 runs)", median(open_link)))
    return rows


if __name__ == "__main__":
    main()
