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
  at seeded random times with --arrivals-seed), each in a browser context of its own
  (its own Streamlit session), opening Home, Dataset, Zero init and BatchNorm folding
  (their default answers), then a zero-init at its own seed (so it trains) and one
  compare form at the demo's caps and budget (heavy_form) at another seed of its own,
  as a learner would; each closes its context when done, and at most MAX_PAGES are open
  at once (a visitor past that waits for one to close; that wait is reported). First,
  in the same invocation, the default answers are warmed and one visitor alone measures
  each kind's solo time. Reports p50/p95 of the time to each answer per kind, the
  longest wait, the server's peak RSS, the CPU seconds of the server, of the browsers
  and of the whole machine, the load average, the estimated demand (hosting/cost.py)
  against the cores' seconds, and the targets: p95 within 3 x the solo time, no wait
  over 2 minutes, RSS within 1.5 GB.

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
import math
import os
import random
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
    "&activations={runs}&inits=kaiming&seeds=1&seed={seed}"
)
HEAVY_RUNS = ("tanh", "relu")  # the heavy form's runs (one seed each), as many as fit
FORM = "Train new runs here"  # Compare's form's expander


def heavy_seed(scenario: int, i: int) -> int:
    """Visitor i's first seed in a scenario: no two heavy forms share a run."""
    return 1000 + 100 * scenario + i


def heavy_configs(runs: tuple[str, ...], steps: int) -> list:
    """The heavy form's runs: 6 layers of 200 at batch 1,024 (the demo's caps)."""
    from mlp_core.config import ModelConfig, RunConfig, TrainConfig

    train = TrainConfig(steps=steps, batch_size=1024)
    return [
        RunConfig(model=ModelConfig(n_layers=6, n_hidden=200, activation=a), train=train)
        for a in runs
    ]


def heavy_form() -> tuple[tuple[str, ...], int]:
    """The heavy form within the demo's budget: its runs (both of HEAVY_RUNS where 2 runs
    of 100 steps fit, else the first) and the most steps (in hundreds) they take."""
    from hosting.cost import cpu_seconds
    from ui.settings import DEMO_BUDGET_S, DEMO_CAPS

    runs = HEAVY_RUNS
    while len(runs) > 1 and cpu_seconds(heavy_configs(runs, 100)) > DEMO_BUDGET_S:
        runs = runs[:-1]
    steps = 100
    while (
        steps < DEMO_CAPS["steps"]
        and cpu_seconds(heavy_configs(runs, steps + 100)) <= DEMO_BUDGET_S
    ):
        steps += 100
    return runs, steps


def heavy_url(seed: int) -> str:
    runs, steps = heavy_form()
    return HEAVY.format(runs=",".join(runs), steps=steps, seed=seed)


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


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process, its live descendants and the children it
    has reaped (its ended workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    kids: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                f = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            stats[int(d)] = f
            kids.setdefault(int(f[1]), []).append(int(d))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += kids.get(p, [])
        if p in stats:  # fields 14-17 of stat: utime stime cutime cstime
            total += sum(int(x) for x in stats[p][11:15])
    return total / tick


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all cores, every process)."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(f) - f[3] - f[4]) / os.sysconf("SC_CLK_TCK")  # less idle and iowait


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


async def first_answer(ctx, url: str, timeout_s: float, text: str = ANSWER) -> float | None:
    """Seconds from opening a page (the zero-init page) to its answer; None past the
    timeout."""
    page = await ctx.new_page()
    t0 = time.perf_counter()
    try:
        await page.goto(url)
        await settled(page, text, timeout_s)
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
    await page.goto(f"{url}/{heavy_url(seed)}")
    await settled(page, FORM, timeout_s)
    count = page.get_by_text(f"{len(heavy_form()[0])} run(s)", exact=False).first
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


# --- a class: --class N --over T ---------------------------------------------------------

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


async def timed(page, url: str, text: str, timeout_s: float) -> float | None:
    """Seconds from opening url to ``text`` drawn and the script idle; None past timeout."""
    t0 = time.perf_counter()
    try:
        await page.goto(url)
        await settled(page, text, timeout_s)
        if await page.locator("[data-testid='stException']").count():
            raise RuntimeError(f"exception box on {url}")
        return time.perf_counter() - t0
    except PlaywrightTimeout:
        return None


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


async def a_class(a) -> dict:
    from playwright.async_api import async_playwright

    runs, steps = heavy_form()
    start = arrivals(a.klass, a.over, a.arrivals_seed)
    with Server() as server:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            ctx = await browser.new_context(viewport={"width": 1200, "height": 900})
            warm = [
                await first_answer(ctx, f"{server.url}/{path}", a.timeout, text)
                for _, path, text in DEFAULT_PAGES[2:]
            ]  # the warm-up's runs, done
            await ctx.close()
            solo = await learner(browser, server.url, 0, a.timeout)
            print(json.dumps({"solo_s": solo}), flush=True)
            slots = asyncio.Semaphore(MAX_PAGES)
            loads: list[float] = []

            async def one(i: int) -> dict:
                await asyncio.sleep(start[i - 1])
                t0 = time.perf_counter()
                async with slots:
                    waited = time.perf_counter() - t0
                    r = await learner(browser, server.url, i, a.timeout)
                r["slot_wait_s"] = round(waited, 1)
                print(json.dumps({"visitor": i} | r), flush=True)
                return r

            async def sample_load() -> None:
                while True:
                    loads.append(os.getloadavg()[0])
                    await asyncio.sleep(5)

            sampler = asyncio.ensure_future(sample_load())
            cpu0, busy0, t0 = tree_cpu(server.proc.pid), machine_busy(), time.perf_counter()
            own0 = tree_cpu(os.getpid()) - cpu0  # this bench, playwright and chromium
            results = await asyncio.gather(*(one(i) for i in range(1, a.klass + 1)))
            wall = time.perf_counter() - t0
            cpu, busy = tree_cpu(server.proc.pid) - cpu0, machine_busy() - busy0
            browsers = tree_cpu(os.getpid()) - cpu - cpu0 - own0
            sampler.cancel()
            await browser.close()
        peak = server.peak
    answers = {k: kind_stats([r.get(k) for r in results]) for k in ALL_KINDS}
    solo_s = {k: None if solo.get(k) is None else round(solo[k], 1) for k in ALL_KINDS}
    return {
        "visitors": a.klass,
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
        "browsers_cpu_s": round(browsers),
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
        "--arrivals-seed",
        type=int,
        metavar="S",
        help="a class's arrivals at random times (this seed), not evenly spread",
    )
    a = ap.parse_args()
    a.crowds = [int(x) for x in a.crowds.split(",") if x]
    a.scenarios = [int(x) for x in a.scenarios.split(",") if x]
    if not os.path.exists(CHROMIUM):
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
