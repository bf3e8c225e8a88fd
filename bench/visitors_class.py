"""A class on one demo server: N visitors arriving evenly over T seconds, each in its own
browser context (its own Streamlit session), each opening the default pages (Zero init,
BatchNorm folding), then a custom zero-init (its own seed) and one compare form at the
demo's caps and budget (its own seed: visitors.heavy_steps). Reports p50/p95 of the time
to each answer (from the link opened or the button pressed to the answer drawn), the
longest, every answer that did not come, the server's peak RSS and the load average.

    python bench/visitors_class.py [--visitors 30] [--over 300] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from visitors import (  # noqa: E402
    ANSWER,
    CHROMIUM,
    CHROMIUM_ARGS,
    HEAVY,
    PlaywrightTimeout,
    Server,
    heavy_steps,
    settled,
)

FOLD_ANSWER = "The network, before and after"
COMPARED = "What differs"  # with the new runs picked


async def timed(page, open_it, text: str, timeout_s: float) -> float | None:
    """Seconds from open_it() to ``text`` drawn and the script idle; None past timeout."""
    t0 = time.perf_counter()
    try:
        await open_it()
        await settled(page, text, timeout_s)
        return time.perf_counter() - t0
    except PlaywrightTimeout:
        return None


async def trained(page, train, timeout_s: float) -> float | None:
    """Seconds from pressing Train to the runs trained and the page drawn again around
    them (the app's Stop button shows while it trains or waits, and goes after)."""
    stop = page.get_by_role("button", name="Stop", exact=True).first
    t0 = time.perf_counter()
    try:
        await train.click()
        await stop.wait_for(state="visible", timeout=timeout_s * 1000)
        await stop.wait_for(state="hidden", timeout=timeout_s * 1000)
        await settled(page, COMPARED, timeout_s)
        return time.perf_counter() - t0
    except PlaywrightTimeout:
        return None


async def visitor(browser, url: str, i: int, delay: float, steps: int, a) -> dict:
    await asyncio.sleep(delay)
    ctx = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await ctx.new_page()
    out: dict = {}
    try:
        for kind, path, text in (
            ("zero_init", "zero_init", ANSWER),
            ("fold", "batchnorm_fold", FOLD_ANSWER),
            ("custom_zero_init", f"zero_init?seed={5000 + i}", ANSWER),
        ):
            out[kind] = await timed(page, lambda p=path: page.goto(f"{url}/{p}"), text, a.timeout)
        await page.goto(f"{url}/{HEAVY.format(seed=6000 + i, steps=steps)}")
        await settled(page, "Train new runs here", a.timeout)
        train = page.get_by_role("button", name="Train", exact=True)
        if not await train.is_visible():  # the form's expander is shut once runs are listed
            await page.get_by_text("Train new runs here").first.click()
        out["compare"] = await trained(page, train, a.timeout)
    except Exception as e:  # noqa: BLE001 - reported with what was measured
        out["error"] = repr(e)[:200]
    finally:
        await ctx.close()
    return out


def stats(times: list[float | None]) -> dict:
    done = sorted(t for t in times if t is not None)
    if not done:
        return {"answered": 0, "missing": len(times)}
    p95 = done[min(len(done) - 1, round(0.95 * (len(done) - 1)))]
    return {
        "answered": len(done),
        "missing": len(times) - len(done),
        "p50_s": round(statistics.median(done), 1),
        "p95_s": round(p95, 1),
        "max_s": round(done[-1], 1),
    }


async def main_async(a) -> dict:
    from playwright.async_api import async_playwright

    steps = heavy_steps()
    with Server() as server:
        load0 = os.getloadavg()
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            gap = a.over / max(1, a.visitors - 1)
            runs = [visitor(browser, server.url, i, i * gap, steps, a) for i in range(a.visitors)]
            results = await asyncio.gather(*runs, return_exceptions=True)
            await browser.close()
        peak = server.peak
    ok = [r for r in results if isinstance(r, dict)]
    kinds = ("zero_init", "fold", "custom_zero_init", "compare")
    return {
        "visitors": a.visitors,
        "over_s": a.over,
        "compare_form": f"2 runs of 6 x 200, batch 1,024, {steps} steps",
        "errors": [repr(r)[:200] for r in results if not isinstance(r, dict)]
        + [r["error"] for r in ok if "error" in r],
        "answers": {k: stats([r.get(k) for r in ok]) for k in kinds},
        "all": stats([r.get(k) for r in ok for k in kinds]),
        "peak_rss_mb": round(peak / 2**20),
        "load_before_after": [round(load0[0], 2), round(os.getloadavg()[0], 2)],
        "cores": os.cpu_count(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--visitors", type=int, default=30)
    ap.add_argument("--over", type=float, default=300, help="seconds the arrivals span")
    ap.add_argument("--timeout", type=float, default=600, help="seconds any one wait may take")
    ap.add_argument("--json", metavar="FILE", help="write the figures here too")
    a = ap.parse_args()
    if not os.path.exists(CHROMIUM):
        sys.exit("Debian's chromium is needed (apt-get install chromium)")
    out = asyncio.run(main_async(a))
    text = json.dumps(out, indent=1)
    print(text)
    if a.json:
        Path(a.json).write_text(text)


if __name__ == "__main__":
    main()
