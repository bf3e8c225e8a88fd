"""Many visitors on one server: time to first result, fairness, and peak memory.

Starts ONE `streamlit run app.py` in demo mode (PRACTICE_BOARD_DEMO=1, its own empty run
store in a temp folder) on 127.0.0.1, and drives it through real browser pages (Debian's
chromium via playwright; each page is its own Streamlit session):

- crowd N (N = 1, 4, 8 by default): N visitors open the zero-init page at once (each with
  its own seed, so each really trains its default 2 runs); reports each one's time to the
  answer (median, max).
- scenario H (3 and 7 by default): H visitors each submit the compare page's form at the
  demo's caps and budget (2 runs, tanh and relu, or tanh alone where 2 are over the
  budget; 6 layers of 200, batch 1,024, as many steps as the demo's budget per
  submission allows: heavy_form; each visitor its own seed, so no two share a run); once
  all of them train or wait, a new visitor opens the default zero-init page. Its time to
  the answer is held to (H + 1) x its solo time (the crowd of 1) + one slice; every heavy
  visitor's page is read for a position or an estimate. Then every page closes (their
  places are freed) and the next scenario starts.
- a class (--class N --over T): N visitors arriving over T seconds (one every T/N s, or
  at seeded random times with --arrivals-seed), each a websocket tab speaking
  Streamlit's protocol (--client ws, the default: bench/ws_visitor.py, nothing drawn, so
  the server alone is measured) or a chromium context of its own (--client browser), on
  one server or on --replicas R sharing one store (visitor i on replica i mod R),
  opening Home, Dataset, Zero init and BatchNorm folding (their default answers), then a
  zero-init at its own seed (so it trains) and one compare form at the demo's caps and
  budget (heavy_form) at another seed of its own, as a learner would; each closes its
  context when done, and (browsers) at most MAX_PAGES are open at once (a visitor past
  that waits for one to close; that wait is reported). First, in the same invocation,
  the default answers are warmed and one visitor alone measures each kind's solo time.
  Reports p50/p95 of the time to each answer per kind, the longest wait, the server's
  peak RSS, the CPU seconds of the server, of the browsers and of the whole machine, the
  load average, the estimated demand (hosting/cost.py) against the cores' seconds, and
  the targets: p95 within 3 x the solo time, no wait over 2 minutes, RSS within 1.5 GB.

The server's peak RSS, its worker processes included, is sampled from /proc throughout.
Bounded: every wait has a timeout (--timeout), pages and visitors are capped.

    python bench/visitors.py                       # crowds 1,4,8 and scenarios 3,7
    python bench/visitors.py --class 30 --over 300 --json class.json
    python bench/visitors.py --crowds 1 --scenarios 3 --json out.json
    python bench/visitors.py --url http://127.0.0.1:8080  # a server already running,
        # e.g. deploy/replicas.py's proxy (start it with PRACTICE_BOARD_DEMO=1 and an
        # empty --cache); its memory is not sampled
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]  # hosting.turns, for the slice

from browser_helpers import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from visitor_class import (  # noqa: E402
    a_class,
)
from visitor_tools import (  # noqa: E402
    MAX_PAGES,
    PLACE,
    Contexts,
    Running,
    Server,
    crowd,
    first_answer,
    heavy_seed,
    heavy_visitor,
    progress_text,
    summary,
)


async def scenario(ctx, url: str, heavies: int, solo: float, slice_s: float, timeout_s: float):
    pages = []
    try:
        for i in range(heavies):  # one by one: each is training or waiting before the next
            pages.append(await heavy_visitor(ctx, url, heavy_seed(heavies, i), timeout_s))
        newcomer = asyncio.ensure_future(
            first_answer(ctx, f"{url}/zero_init?seed={2000 + heavies}", timeout_s)
        )
        seen = [False] * len(pages)  # each heavy page read while the newcomer waits
        texts = [""] * len(pages)
        while not newcomer.done():
            for i, p in enumerate(pages):
                texts[i] = await progress_text(p)
                seen[i] |= bool(PLACE.search(texts[i]) or "Step" in texts[i])
            await asyncio.sleep(1)
        seconds = newcomer.result()
    finally:
        for p in pages:
            await p.close()
    bound = (heavies + 1) * solo + (slice_s or 0)
    return {
        "heavy_visitors": heavies,
        "newcomer_seconds": seconds,
        "bound_seconds": bound,
        "within_bound": seconds is not None and seconds <= bound,
        "heavy_pages_showing_place_or_progress": sum(seen),
        "heavy_page_texts": texts,
    }


async def main_async(a) -> dict:
    from playwright.async_api import async_playwright

    try:
        from hosting.turns import SLICE_S
    except ImportError:  # before the fair turns: the slice is a whole job, unknown here
        SLICE_S = None
    out: dict = {"crowds": [], "scenarios": [], "slice_target_s": SLICE_S}
    with Running(a.url) if a.url else Server() as server:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            ctx = await browser.new_context(viewport={"width": 1200, "height": 900})
            if a.url:  # a proxy's replicas: one sticky cookie per visitor
                ctx = Contexts(browser)
            warm = await first_answer(ctx, f"{server.url}/zero_init?seed=7", a.timeout)
            out["warm_up_s"] = warm  # the server's imports, the data, the first training
            for n in a.crowds:
                times = await crowd(ctx, server.url, min(n, MAX_PAGES), 100 * n, a.timeout)
                out["crowds"].append(summary(times) | {"times_s": times})
                print(json.dumps(out["crowds"][-1]), flush=True)
            solo = next((c["median_s"] for c in out["crowds"] if c["visitors"] == 1), None)
            if solo is None:
                solo = (await crowd(ctx, server.url, 1, 90, a.timeout))[0]
            out["solo_s"] = solo
            for h in a.scenarios:
                r = await scenario(ctx, server.url, min(h, MAX_PAGES - 1), solo, SLICE_S, a.timeout)
                out["scenarios"].append(r)
                print(json.dumps(r), flush=True)
            await browser.close()
        out["peak_rss_mb"] = round(server.peak / 2**20) if not a.url else None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--crowds", default="1,4,8", help="visitor counts (default 1,4,8)")
    ap.add_argument("--scenarios", default="3,7", help="heavy visitor counts (default 3,7)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds any one wait may take")
    ap.add_argument("--json", metavar="FILE", help="write the figures here too")
    ap.add_argument("--url", help="a demo server already running (e.g. replicas' proxy)")
    ap.add_argument(
        "--class",
        dest="klass",
        type=int,
        metavar="N",
        help="run a class of N visitors instead of the crowds and scenarios",
    )
    ap.add_argument("--over", type=float, default=300, help="seconds a class's arrivals span")
    ap.add_argument(
        "--client",
        choices=("ws", "browser"),
        default="ws",
        help="a class's visitors: websocket tabs, no browser (default: the server alone is "
        "measured), or chromium pages on this machine",
    )
    ap.add_argument(
        "--replicas",
        type=int,
        default=1,
        metavar="R",
        help="a class's servers sharing one store; visitor i stays on replica i mod R",
    )
    ap.add_argument(
        "--arrivals-seed",
        type=int,
        metavar="S",
        help="a class's arrivals at random times (this seed), not evenly spread",
    )
    a = ap.parse_args()
    a.crowds = [int(x) for x in a.crowds.split(",") if x]
    a.scenarios = [int(x) for x in a.scenarios.split(",") if x]
    if not os.path.exists(CHROMIUM) and not (a.klass and a.client == "ws"):
        sys.exit("Debian's chromium is needed (apt-get install chromium)")
    if a.klass and a.url:
        sys.exit("--class starts its own server (its memory and CPU are measured): no --url")
    out = asyncio.run(a_class(a) if a.klass else main_async(a))
    out["machine"] = f"{os.cpu_count()} cores, {sys.platform}"
    text = json.dumps(out, indent=1)
    print(text)
    if a.json:
        Path(a.json).write_text(text)


if __name__ == "__main__":
    main()
