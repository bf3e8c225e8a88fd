"""The pieces every visitor bench shares (bench/visitors.py): the demo server and its
memory and CPU, the heavy compare form at the demo's budget, pages and their answers."""

import asyncio
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

from browser_helpers import start_streamlit, wait_healthy  # noqa: E402

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
    """Demo-mode streamlit servers (``replicas`` of them, 1 by default) sharing one empty
    run store, as replicas behind a proxy share a volume; the peak RSS of their process
    trees together is sampled meanwhile. ``url`` is the first one's, ``urls`` all."""

    def __init__(self, replicas: int = 1):
        self.cache = tempfile.mkdtemp(prefix="pb-visitors-")
        self.replicas = replicas
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self):
        env = {
            "PRACTICE_BOARD_DEMO": "1",
            "PRACTICE_BOARD_CACHE": self.cache,
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        started = [start_streamlit(env) for _ in range(self.replicas)]
        self.procs, self.urls = [p for p, _ in started], [u for _, u in started]
        self.proc, self.url = self.procs[0], self.urls[0]
        for proc, url in started:
            wait_healthy(url, proc, timeout=120)
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        return self

    def cpu(self) -> float:
        """CPU seconds of every replica's process tree."""
        return sum(tree_cpu(p.pid) for p in self.procs)

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            self.peak = max(self.peak, sum(tree_rss(p.pid) for p in self.procs))

    def __exit__(self, *exc):
        self._stop.set()
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
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


async def first_answer(ctx, url: str, timeout_s: float, text: str = ANSWER) -> float | None:
    """Seconds from opening a page (the zero-init page) in a new page of ctx to its
    answer; None past the timeout."""
    page = await ctx.new_page()
    try:
        return await timed(page, url, text, timeout_s)
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


def summary(times: list[float | None]) -> dict:
    done = [t for t in times if t is not None]
    return {
        "visitors": len(times),
        "answered": len(done),
        "median_s": round(statistics.median(done), 2) if done else None,
        "max_s": round(max(done), 2) if done else None,
    }
