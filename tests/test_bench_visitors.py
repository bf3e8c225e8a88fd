"""bench/visitors.py drives a class of visitors: its heavy visitors each train runs of
their own, within the demo's budget, and the form's Train button is the one it clicks."""

import asyncio
import importlib.util
import os
import types

import pytest
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, ROOT

from hosting.cost import cpu_seconds
from ui.settings import DEMO_BUDGET_S, DEMO_CAPS


def bench():
    """bench/visitors.py with its pieces (visitor_tools.py, visitor_class.py): one namespace."""
    names: dict = {}
    for name in ("visitor_tools", "ws_visitor", "visitor_class", "visitors"):
        spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        names |= vars(module)
    return types.SimpleNamespace(**names)


def test_heavy_visitors_train_runs_of_their_own():
    v = bench()
    seen: set[int] = set()
    for scenario in (3, 7):
        for i in range(scenario):
            assert v.heavy_seed(scenario, i) not in seen  # no run shared with another
            seen.add(v.heavy_seed(scenario, i))
    assert len(seen) == 10


def test_the_heavy_form_is_the_largest_the_demo_budget_takes():
    v = bench()
    runs, steps = v.heavy_form()
    assert cpu_seconds(v.heavy_configs(runs, steps)) <= DEMO_BUDGET_S
    assert steps == DEMO_CAPS["steps"] or cpu_seconds(v.heavy_configs(runs, steps + 100)) > (
        DEMO_BUDGET_S
    )
    assert runs == v.HEAVY_RUNS or cpu_seconds(v.heavy_configs(v.HEAVY_RUNS, 100)) > (DEMO_BUDGET_S)
    assert v.heavy_url(3).startswith("compare?n_layers=6&n_hidden=200")
    assert f"activations={','.join(runs)}&" in v.heavy_url(3)


@pytest.mark.slow
def test_a_heavy_visitor_starts_training_on_a_demo_server():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed")
    pytest.importorskip("playwright.async_api", reason="python playwright is not installed")
    v = bench()

    async def visit() -> str:
        from playwright.async_api import async_playwright

        with v.Server() as server:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                ctx = await browser.new_context()
                page = await v.heavy_visitor(ctx, server.url, v.heavy_seed(1, 0), 120)
                text = await v.progress_text(page)
                await browser.close()
                return text

    assert "Starting" in (text := asyncio.run(visit())) or "Step" in text or "place" in text


@pytest.mark.slow
def test_a_websocket_visitor_gets_the_answers_a_browser_gets():
    """A class's visitor without a browser, on two demo replicas sharing one store: every
    default page's answer, a zero-init of its own, and the compare form's Train pressed,
    with its runs then compared; on the other replica its form's runs are served from the
    store (the same key, no training: a Train press whose answer names the run)."""
    v = bench()

    async def visit(server) -> tuple[dict, str]:
        first = await v.ws_learner(server.urls[0], 1, 300)
        async with v.Visitor(server.urls[1]) as tab:
            await tab.open(v.heavy_url(v.class_seeds(1)[1]), v.FORM, 300)
            await tab.press("Train", v.COMPARED, 300)
            return first, tab.texts

    with v.Server(replicas=2) as server:
        first, other = asyncio.run(visit(server))
    assert "error" not in first, first
    assert all(first[k] is not None for k in v.ALL_KINDS), first
    seed = v.class_seeds(1)[1]
    assert any(f"s{seed}" in t and "6×200" in t for t in other)  # the run, by its name ...
    assert not any(t.startswith("Step ") for t in other)  # ... and no step of it trained


def test_a_class_arrives_spread_over_its_span():
    v = bench()
    even = v.arrivals(30, 300)
    assert even[0] == 0 and len(even) == 30
    assert all(b - a == pytest.approx(10) for a, b in zip(even, even[1:]))  # one every 10 s
    rand = v.arrivals(30, 300, seed=3)
    assert rand == sorted(rand) and all(0 <= t < 300 for t in rand)
    assert rand == v.arrivals(30, 300, seed=3) != v.arrivals(30, 300, seed=4)  # seeded


def test_every_learner_trains_runs_of_its_own():
    v = bench()
    seeds = [s for i in range(31) for s in v.class_seeds(i)]  # the solo visitor and 30
    assert len(set(seeds)) == len(seeds) and 42 not in seeds  # 42: the default pages'


def test_a_class_summary_counts_a_missing_answer_as_the_longest():
    v = bench()
    times = [float(t) for t in range(1, 21)]  # 1 .. 20 s
    assert v.percentile(times, 50) == 10 and v.percentile(times, 95) == 19
    s = v.kind_stats(times)
    assert (s["answered"], s["missing"], s["p50_s"], s["p95_s"], s["max_s"]) == (20, 0, 10, 19, 20)
    s = v.kind_stats(times[:19] + [None])  # one never came: p95 is 19 s, the longest unknown
    assert (s["missing"], s["p95_s"], s["max_s"]) == (1, 19, None)
    s = v.kind_stats(times[:18] + [None, None])
    assert s["p95_s"] is None  # the 19th of 20 is one that never came


def test_a_class_is_held_to_its_targets():
    v = bench()
    solo = {"zero_init": 2.0, "custom_zero_init": 10.0, "compare": 20.0, "fold": 2.0}
    fine = {"p50_s": 1, "p95_s": 5.9, "max_s": 6, "answered": 30, "missing": 0}
    answers = {k: dict(fine) for k in v.ALL_KINDS}
    t = v.targets(answers, solo, int(1.2e9), 600)
    assert t["all_met"] and t["zero_init_p95_within_3x_solo"]["bound_s"] == 6
    answers["zero_init"]["p95_s"] = 6.1  # over 3 x its solo time
    assert not v.targets(answers, solo, int(1.2e9), 600)["zero_init_p95_within_3x_solo"]["met"]
    answers["zero_init"]["p95_s"] = 5.9
    answers["compare"]["max_s"] = 121  # a wait over 2 minutes
    assert not v.targets(answers, solo, int(1.2e9), 600)["longest_wait_within_120_s"]["met"]
    answers["compare"]["max_s"] = None  # an answer that never came
    assert not v.targets(answers, solo, int(1.2e9), 600)["all_met"]
    answers["compare"]["max_s"] = 60
    assert not v.targets(answers, solo, int(1.6e9), 600)["rss_within_1.5_GB"]["met"]


def test_a_class_demand_is_its_visitors_estimated_seconds():
    v = bench()
    d = v.class_demand(30)
    assert d["compare_form_s"] <= DEMO_BUDGET_S
    per_visitor = d["custom_zero_init_s"] + d["compare_form_s"]
    assert d["class_s"] == pytest.approx(30 * per_visitor, abs=3.5)  # rounded: 2 x 0.05 x 30 + 0.5
