"""Many visitors on one server: time to first result, fairness, and peak memory.

Starts ONE `streamlit run app.py` in demo mode (PRACTICE_BOARD_DEMO=1, its own empty run
store in a temp folder) on 127.0.0.1, and drives it through real browser pages (Debian's
chromium via playwright; each page is its own Streamlit session):

- crowd N (N = 1, 4, 8 by default): N visitors open the zero-init page at once (each with
  its own seed, so each really trains its default 2 runs); reports each one's time to the
  answer (median, max).
- scenario H (3 and 7 by default): H visitors each submit the compare page's form at the
  demo's caps and budget (2 runs: tanh, relu; 6 layers of 200, batch 1,024, as many
  steps as the demo's budget per submission allows: heavy_steps; each visitor its own
  seed, so H visitors are 2H trainings); once all of them train or wait,
  a new visitor opens the default
  zero-init page. Its time to the answer is held to (H + 1) x its solo time (the crowd of
  1) + one slice; every heavy visitor's page is read for a position or an estimate. Then
  every page closes (their places are freed) and the next scenario starts.

The server's peak RSS, its worker processes included, is sampled from /proc throughout.
Bounded: every wait has a timeout (--timeout), pages and visitors are capped.

    python bench/visitors.py                       # crowds 1,4,8 and scenarios 3,7
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
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # hosting.turns, for the slice

from browser_helpers import CHROMIUM, CHROMIUM_ARGS, start_streamlit, wait_healthy  # noqa: E402

MAX_PAGES = 12  # pages open at once, whatever the arguments say
ANSWER = "What trained, and why"
HEAVY = (
    "compare?n_layers=6&n_hidden=200&steps={steps}&batch_size=1024"
    "&activations=tanh,relu&inits=kaiming&seeds=1&seed={seed}"
)
HEAVY_RUNS = ("tanh", "relu")  # the heavy form's runs, one seed each
FORM = "Train new runs here"  # Compare's form's expander


def heavy_seed(scenario: int, i: int) -> int:
    """Visitor i's first seed in a scenario: no two heavy forms share a run."""
    return 1000 + 100 * scenario + i


def heavy_steps() -> int:
    """The most steps (in hundreds) of the heavy form within the demo's budget."""
    from hosting.cost import cpu_seconds
    from mlp_core.config import ModelConfig, RunConfig, TrainConfig
    from ui.settings import DEMO_BUDGET_S, DEMO_CAPS

    def form(steps: int) -> list[RunConfig]:
        train = TrainConfig(steps=steps, batch_size=1024)
        return [
            RunConfig(model=ModelConfig(n_layers=6, n_hidden=200, activation=a), train=train)
            for a in HEAVY_RUNS
        ]

    steps = 100
    while steps < DEMO_CAPS["steps"] and cpu_seconds(form(steps + 100)) <= DEMO_BUDGET_S:
        steps += 100
    return steps


PLACE = re.compile(r"(position|place|in line|turn|queued|wait)", re.I)


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (from /proc)."""
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += kids.get(p, [])
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


class Server:
    """One demo-mode streamlit server; peak RSS of its process tree sampled meanwhile."""

    def __init__(self):
        self.cache = tempfile.mkdtemp(prefix="pb-visitors-")
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self):
        env = {
            "PRACTICE_BOARD_DEMO": "1",
            "PRACTICE_BOARD_CACHE": self.cache,
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        self.proc, self.url = start_streamlit(env)
        wait_healthy(self.url, self.proc, timeout=120)
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            self.peak = max(self.peak, tree_rss(self.proc.pid))

    def __exit__(self, *exc):
        self._stop.set()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.cache, ignore_errors=True)


async def settled(page, text: str, timeout_s: float) -> None:
    await page.get_by_text(text, exact=False).first.wait_for(timeout=timeout_s * 1000)
    await page.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_s * 1000
    )


try:
    from playwright.async_api import TimeoutError as PlaywrightTimeout
except ImportError:  # main() says what is missing
    PlaywrightTimeout = TimeoutError


async def first_answer(ctx, url: str, timeout_s: float) -> float | None:
    """Seconds from opening the zero-init page to its answer; None past the timeout."""
    page = await ctx.new_page()
    t0 = time.perf_counter()
    try:
        await page.goto(url)
        await settled(page, ANSWER, timeout_s)
        if await page.locator("[data-testid='stException']").count():
            raise RuntimeError(f"exception box on {url}")
        return time.perf_counter() - t0
    except PlaywrightTimeout:
        return None
    finally:
        await page.close()


async def crowd(ctx, url: str, n: int, seed0: int, timeout_s: float) -> list[float | None]:
    pages = [first_answer(ctx, f"{url}/zero_init?seed={seed0 + i}", timeout_s) for i in range(n)]
    return list(await asyncio.gather(*pages))


class Running:
    """A server already running at url (deploy/replicas.py's proxy): nothing to start or
    sample."""

    peak = 0

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


class Contexts:
    """Pages each in a browser context of its own (its own cookies): behind
    deploy/replicas.py's proxy each visitor then gets its own sticky replica."""

    def __init__(self, browser):
        self.browser = browser

    async def new_page(self):
        ctx = await self.browser.new_context(viewport={"width": 1200, "height": 900})
        return await ctx.new_page()


async def heavy_visitor(ctx, url: str, seed: int, timeout_s: float):
    """Open the compare form at the caps and press Train; returns the page once it trains
    or waits (its progress text is showing)."""
    page = await ctx.new_page()
    await page.goto(f"{url}/{HEAVY.format(seed=seed, steps=heavy_steps())}")
    await settled(page, FORM, timeout_s)
    count = page.get_by_text(f"{len(HEAVY_RUNS)} run(s)", exact=False).first
    if not await count.is_visible():  # shut where the session has runs (one browser context)
        await page.get_by_text(FORM, exact=True).first.click()
    await count.wait_for(timeout=timeout_s * 1000)
    await page.get_by_role("button", name="Train", exact=True).click()
    await page.locator("[data-testid='stProgress']").first.wait_for(timeout=timeout_s * 1000)
    return page


async def progress_text(page) -> str:
    try:
        return await page.locator("[data-testid='stProgress']").first.inner_text(timeout=2000)
    except Exception:  # noqa: BLE001 - a page between two draws
        return ""


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


def summary(times: list[float | None]) -> dict:
    done = [t for t in times if t is not None]
    return {
        "visitors": len(times),
        "answered": len(done),
        "median_s": round(statistics.median(done), 2) if done else None,
        "max_s": round(max(done), 2) if done else None,
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
    a = ap.parse_args()
    a.crowds = [int(x) for x in a.crowds.split(",") if x]
    a.scenarios = [int(x) for x in a.scenarios.split(",") if x]
    if not os.path.exists(CHROMIUM):
        sys.exit("Debian's chromium is needed (apt-get install chromium)")
    out = asyncio.run(main_async(a))
    out["machine"] = f"{os.cpu_count()} cores, {sys.platform}"
    text = json.dumps(out, indent=1)
    print(text)
    if a.json:
        Path(a.json).write_text(text)


if __name__ == "__main__":
    main()
