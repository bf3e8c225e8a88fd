"""bench/visitors.py drives a class of visitors: its heavy visitors each train runs of
their own, within the demo's budget, and the form's Train button is the one it clicks."""

import asyncio
import importlib.util
import os

import pytest
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, ROOT

from hosting.cost import cpu_seconds
from mlp_core.config import ModelConfig, RunConfig, TrainConfig
from ui.settings import DEMO_BUDGET_S, DEMO_CAPS


def bench():
    spec = importlib.util.spec_from_file_location("visitors", ROOT / "bench" / "visitors.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    steps = v.heavy_steps()

    def form(n: int) -> list[RunConfig]:
        model = [ModelConfig(n_layers=6, n_hidden=200, activation=a) for a in v.HEAVY_RUNS]
        return [RunConfig(model=m, train=TrainConfig(n, 1024)) for m in model]

    assert cpu_seconds(form(steps)) <= DEMO_BUDGET_S
    assert steps == DEMO_CAPS["steps"] or cpu_seconds(form(steps + 100)) > DEMO_BUDGET_S


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
