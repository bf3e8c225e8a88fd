"""A cold start as a visitor meets it, in a real browser (Debian's chromium, playwright):
a fresh `streamlit run app.py` with an empty run store, and a browser that opens
/zero_init from the moment the process starts (retrying until the server takes
connections). Seconds from the process's start to the health check, the page's first
title (h1) and the first answer on Zero init; quiet, then busy (BUSY processes spinning
a core each beside it, killed after the run).

    python bench/cold_start.py              # from the repository root; prints seconds
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests")]
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, start_streamlit  # noqa: E402

ANSWER = "What trained, and why"
REPEAT, BUSY, LIMIT_S = 3, 2, 300


def cold(browser) -> dict:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    t0 = time.perf_counter()
    proc, url = start_streamlit({"PRACTICE_BOARD_CACHE": tempfile.mkdtemp(prefix="pb-")})
    try:
        while True:
            try:
                page.goto(f"{url}/zero_init", timeout=5_000)
                break
            except Exception:  # noqa: BLE001 - not taking connections yet
                time.sleep(0.05)
        answered = time.perf_counter() - t0
        page.locator("h1").first.wait_for(timeout=LIMIT_S * 1000)
        title = time.perf_counter() - t0
        page.get_by_text(ANSWER).first.wait_for(timeout=LIMIT_S * 1000)
        return {"page_s": answered, "title_s": title, "answer_s": time.perf_counter() - t0}
    finally:
        page.close()
        proc.terminate()
        proc.wait(timeout=20)


def spinners(n: int) -> list[subprocess.Popen]:
    cmd = ["timeout", str(LIMIT_S), sys.executable, "-c", "while True: pass"]
    return [subprocess.Popen(cmd) for _ in range(n)]


def measure(browser, busy: int) -> None:
    spin = spinners(busy)
    try:
        time.sleep(5 if busy else 0)  # the load average climbs
        load = os.getloadavg()[0]
        rows = [cold(browser) for _ in range(REPEAT)]
    finally:
        for s in spin:
            s.kill()
    print(f"{'busy' if busy else 'quiet'} ({busy} spinning cores), load average {load:.1f}:")
    for key in ("page_s", "title_s", "answer_s"):
        vals = [r[key] for r in rows]
        print(
            f"  {key}: median {statistics.median(vals):.1f} ({', '.join(f'{v:.1f}' for v in vals)})"
        )


def main() -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        measure(browser, 0)
        measure(browser, BUSY)
        browser.close()


if __name__ == "__main__":
    main()
