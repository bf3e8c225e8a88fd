"""A class of visitors on one demo server (bench/visitors.py --class N --over T): their
arrivals, each learner's pages and forms, the statistics and the targets."""

import asyncio
import json
import math
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]  # hosting, browsers

from browser_helpers import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from visitor_tools import (  # noqa: E402
    ANSWER,
    FORM,
    MAX_PAGES,
    PlaywrightTimeout,
    Server,
    first_answer,
    heavy_configs,
    heavy_form,
    heavy_url,
    machine_busy,
    settled,
    timed,
    tree_cpu,
)

HOME_ANSWER = "Why do initialisation and BatchNorm matter?"
DATASET_ANSWER = "Contexts → target"  # the dataset page's last section
FOLD_ANSWER = "The network, before and after"
COMPARED = "What differs"  # Compare with the new runs picked
DEFAULT_PAGES = (  # kind, path, its answer's text: the default pages a visitor opens first
    ("home", "", HOME_ANSWER),
    ("dataset", "dataset", DATASET_ANSWER),
    ("zero_init", "zero_init", ANSWER),
    ("fold", "batchnorm_fold", FOLD_ANSWER),
)
KINDS = ("zero_init", "custom_zero_init", "compare", "fold")  # the answers held to targets
ALL_KINDS = ("home", "dataset", "zero_init", "fold", "custom_zero_init", "compare")
P95_OVER_SOLO = 3.0  # targets: p95 within 3 x the solo time of its kind,
LONGEST_S = 120.0  # no wait over 2 minutes,
RSS_BYTES = 1.5e9  # the server with its workers within 1.5 GB


def class_seeds(i: int) -> tuple[int, int]:
    """Visitor i's seeds: its custom zero-init's and its compare form's (visitor 0 is the
    solo visitor); distinct from each other, from every other visitor's and from the
    default pages' (42), so every custom answer really trains."""
    return 5000 + i, 7000 + i


def arrivals(n: int, over: float, seed: int | None = None) -> list[float]:
    """Seconds from the class's start at which each of n visitors arrives: one every
    over/n s, or (seed given) n independent uniform times in [0, over), sorted (a Poisson
    process's arrivals, given their number)."""
    if seed is None:
        return [i * over / n for i in range(n)]
    rng = random.Random(seed)
    return sorted(rng.uniform(0, over) for _ in range(n))


def percentile(times: list[float | None], q: float) -> float | None:
    """Nearest-rank q-th percentile; an answer that never came (None) counts as longer
    than any, so a percentile that falls on one is None."""
    if not times:
        return None
    ranked = sorted(times, key=lambda t: math.inf if t is None else t)
    return ranked[max(0, math.ceil(q / 100 * len(ranked)) - 1)]


def kind_stats(times: list[float | None]) -> dict:
    done = [t for t in times if t is not None]
    r = lambda t: None if t is None else round(t, 1)  # noqa: E731
    return {
        "answered": len(done),
        "missing": len(times) - len(done),
        "p50_s": r(percentile(times, 50)),
        "p95_s": r(percentile(times, 95)),
        "max_s": r(max(done)) if done and len(done) == len(times) else None,
    }


def targets(answers: dict, solo: dict, peak_rss: int, timeout_s: float) -> dict:
    """The class's targets, each with its figure and whether it is met."""
    out: dict = {}
    for k in KINDS:
        p95, alone = answers[k]["p95_s"], solo.get(k)
        bound = None if alone is None else round(P95_OVER_SOLO * alone, 1)
        out[f"{k}_p95_within_3x_solo"] = {
            "p95_s": p95,
            "bound_s": bound,
            "met": p95 is not None and bound is not None and p95 <= bound,
        }
    longest = [a["max_s"] for a in answers.values()]
    worst = None if None in longest else max(longest, default=0)
    out["longest_wait_within_120_s"] = {
        "longest_s": worst if worst is not None else f"over {timeout_s:.0f} (an answer missing)",
        "met": worst is not None and worst <= LONGEST_S,
    }
    out["rss_within_1.5_GB"] = {
        "peak_rss_mb": round(peak_rss / 2**20),
        "met": 0 < peak_rss <= RSS_BYTES,
    }
    out["all_met"] = all(v["met"] for v in out.values())
    return out


def class_demand(n: int) -> dict:
    """The estimated CPU seconds (hosting/cost.py, one core) a class of n brings: per
    visitor a custom zero-init (the default pair at another seed) and one heavy form."""
    from hosting.cost import cpu_seconds
    from mlp_core.zero_init import ZERO_INIT_DEFAULT, zero_init_configs

    zero = cpu_seconds(zero_init_configs(ZERO_INIT_DEFAULT))
    form = cpu_seconds(heavy_configs(*heavy_form()))
    return {
        "custom_zero_init_s": round(zero, 1),
        "compare_form_s": round(form, 1),
        "per_visitor_s": round(zero + form, 1),
        "class_s": round(n * (zero + form)),
    }


async def trained(page, timeout_s: float) -> float | None:
    """Seconds from pressing the form's Train to its runs trained and the page drawn
    again around them (the app's Stop button shows while it trains or waits)."""
    train = page.get_by_role("button", name="Train", exact=True)
    if not await train.is_visible():  # the form's expander is shut once runs are listed
        await page.get_by_text(FORM, exact=True).first.click()
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


async def learner(browser, url: str, i: int, timeout_s: float) -> dict:
    """Visitor i in a browser context of its own: the default pages, a custom zero-init,
    a compare form; the seconds to each answer (None: not within timeout_s)."""
    zero_seed, form_seed = class_seeds(i)
    ctx = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await ctx.new_page()
    out: dict = {}
    try:
        for kind, path, text in DEFAULT_PAGES:
            out[kind] = await timed(page, f"{url}/{path}", text, timeout_s)
        out["custom_zero_init"] = await timed(
            page, f"{url}/zero_init?seed={zero_seed}", ANSWER, timeout_s
        )
        await page.goto(f"{url}/{heavy_url(form_seed)}")
        await settled(page, FORM, timeout_s)
        out["compare"] = await trained(page, timeout_s)
    except Exception as e:  # noqa: BLE001 - reported with what was measured
        out["error"] = repr(e)[:200]
    finally:
        await ctx.close()
    return out


class Clients:
    """The class's visitors as browser pages (one chromium, a context per visitor) or as
    websocket tabs (no browser: the server alone is measured)."""

    def __init__(self, kind: str):
        self.kind = kind

    async def __aenter__(self):
        if self.kind == "browser":
            from playwright.async_api import async_playwright

            self._pw = await async_playwright().start()
            self.browser = await self._pw.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
        return self

    async def __aexit__(self, *exc):
        if self.kind == "browser":
            await self.browser.close()
            await self._pw.stop()

    async def first_answer(self, url: str, path: str, text: str, timeout_s: float):
        if self.kind == "ws":
            from ws_visitor import Visitor

            async with Visitor(url) as tab:
                return await tab.open(path, text, timeout_s)
        ctx = await self.browser.new_context(viewport={"width": 1200, "height": 900})
        try:
            return await first_answer(ctx, f"{url}/{path}", timeout_s, text)
        finally:
            await ctx.close()

    async def learner(self, url: str, i: int, timeout_s: float) -> dict:
        if self.kind == "ws":
            return await ws_learner(url, i, timeout_s)
        return await learner(self.browser, url, i, timeout_s)


async def ws_learner(url: str, i: int, timeout_s: float) -> dict:
    """Visitor i over Streamlit's websocket protocol (bench/ws_visitor.py), no browser:
    each page opened as a fresh tab opens it (a session of its own), the compare form's
    Train pressed in the tab that drew it; the seconds to each answer."""
    from ws_visitor import Visitor

    zero_seed, form_seed = class_seeds(i)
    out: dict = {}
    try:
        for kind, path, text in DEFAULT_PAGES:
            async with Visitor(url) as tab:
                out[kind] = await tab.open(path, text, timeout_s)
        async with Visitor(url) as tab:
            custom = f"zero_init?seed={zero_seed}"
            out["custom_zero_init"] = await tab.open(custom, ANSWER, timeout_s)
        async with Visitor(url) as tab:
            await tab.open(heavy_url(form_seed), FORM, timeout_s)
            out["compare"] = await tab.press("Train", COMPARED, timeout_s)
    except Exception as e:  # noqa: BLE001 - reported with what was measured
        out["error"] = repr(e)[:200]
    return out


async def a_class(a) -> dict:
    runs, steps = heavy_form()
    start = arrivals(a.klass, a.over, a.arrivals_seed)
    with Server(a.replicas) as server:
        async with Clients(a.client) as clients:
            warm = [
                await clients.first_answer(url, path, text, a.timeout)
                for url in server.urls
                for _, path, text in DEFAULT_PAGES[2:]
            ]  # the warm-up's runs, done
            solo = await clients.learner(server.url, 0, a.timeout)
            print(json.dumps({"solo_s": solo}), flush=True)
            slots = asyncio.Semaphore(MAX_PAGES if a.client == "browser" else a.klass)
            loads: list[float] = []

            async def one(i: int) -> dict:
                await asyncio.sleep(start[i - 1])
                t0 = time.perf_counter()
                async with slots:
                    waited = time.perf_counter() - t0
                    url = server.urls[i % len(server.urls)]  # a sticky proxy's choice
                    r = await clients.learner(url, i, a.timeout)
                r["slot_wait_s"] = round(waited, 1)
                print(json.dumps({"visitor": i} | r), flush=True)
                return r

            async def sample_load() -> None:
                while True:
                    loads.append(os.getloadavg()[0])
                    await asyncio.sleep(5)

            sampler = asyncio.ensure_future(sample_load())
            cpu0, busy0, t0 = server.cpu(), machine_busy(), time.perf_counter()
            own0 = tree_cpu(os.getpid()) - cpu0  # this bench, playwright and chromium
            results = await asyncio.gather(*(one(i) for i in range(1, a.klass + 1)))
            wall = time.perf_counter() - t0
            cpu, busy = server.cpu() - cpu0, machine_busy() - busy0
            browsers = tree_cpu(os.getpid()) - cpu - cpu0 - own0
            sampler.cancel()
        peak = server.peak
    answers = {k: kind_stats([r.get(k) for r in results]) for k in ALL_KINDS}
    solo_s = {k: None if solo.get(k) is None else round(solo[k], 1) for k in ALL_KINDS}
    return {
        "visitors": a.klass,
        "client": a.client,
        "replicas": a.replicas,
        "over_s": a.over,
        "arrivals": "every %.1f s" % (a.over / a.klass)
        if a.arrivals_seed is None
        else f"uniform at random, seed {a.arrivals_seed}",
        "compare_form": f"{len(runs)} run(s) of 6 x 200, batch 1,024, {steps} steps",
        "warm_up_s": warm,
        "solo_s": solo_s,
        "answers": answers,
        "targets": targets(answers, solo_s, peak, a.timeout),
        "longest_slot_wait_s": max(r.get("slot_wait_s", 0) for r in results),
        "errors": [r["error"] for r in results if "error" in r]
        + ([f"solo: {solo['error']}"] if "error" in solo else []),
        "peak_rss_mb": round(peak / 2**20),
        "wall_s": round(wall),
        "server_cpu_s": round(cpu),
        "clients_cpu_s": round(browsers),
        "machine_busy_cpu_s": round(busy),
        "cores_s": round(wall * (os.cpu_count() or 1)),
        "estimated_demand_cpu_s": class_demand(a.klass),
        "load_1min": {
            "start": loads[0] if loads else None,
            "max": max(loads, default=None),
            "end": round(os.getloadavg()[0], 2),
        },
        "cores": os.cpu_count(),
        "per_visitor": results,
    }
