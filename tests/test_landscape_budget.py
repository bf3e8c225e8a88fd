"""The init landscape's sweep goes through the demo's budget per submission like every form
(hosting/cost.py's estimate): over it, a press trains only the shallowest rows that fit and
says so with the estimates; where not even the first row fits, nothing trains and the
page says why. Outside demo mode no budget applies
(tests/test_page_landscape.py counts the whole grid's cells there)."""

import pytest
from app_helpers import open_app

from hosting import cost
from mlp_core import landscape as L
from mlp_core.store import RunStore
from ui import settings

pytestmark = pytest.mark.usefixtures("fresh_app")
STEPS = 100


def depth_cost(depth: int) -> float:
    return cost.cpu_seconds(L.depth_configs(L.base_config("tanh", False, STEPS, 42), depth))


def open_trained(monkeypatch, budget: float):
    monkeypatch.setenv(settings.DEMO_ENV, "1")
    monkeypatch.setattr(settings, "DEMO_BUDGET_S", budget)
    at = open_app("pages/landscape.py", view="trained", steps=STEPS, activation="tanh")
    assert at.button(key="ls-train").label == "Train the 54 missing cells (6 stacks of 9 runs)"
    return at


def test_a_sweep_over_the_budget_trains_the_rows_that_fit_and_says_so(monkeypatch, store_dir):
    budget = round(depth_cost(1) + 0.5 * depth_cost(2), 2)  # the first row fits, not two
    at = open_trained(monkeypatch, budget).button(key="ls-train").click().run()
    assert not at.exception
    info = " ".join(i.value for i in at.info)
    whole = sum(depth_cost(d) for d in range(1, 7))
    assert f"about {whole:,.0f} s of computing on this server" in info
    assert f"allows {budget} s of computing per submission" in info
    assert f"this one 1 hidden layer (about {depth_cost(1):,.0f} s)" in info
    assert len(RunStore(store_dir).entries()) == 9  # one stack: the first row's nine cells
    assert at.button(key="ls-train").label == "Train the 45 missing cells (5 stacks of 9 runs)"


def test_a_sweep_whose_first_row_is_over_the_budget_is_refused(monkeypatch, store_dir):
    at = open_trained(monkeypatch, round(depth_cost(1) / 2, 2)).button(key="ls-train").click().run()
    assert not at.exception
    error = " ".join(e.value for e in at.error)
    assert "Not trained: the stack of 1 hidden layer would take about" in error
    assert f"{depth_cost(1):,.0f} s of computing on this server" in error
    assert not RunStore(store_dir).entries()
    assert at.button(key="ls-train").label == "Train the 54 missing cells (6 stacks of 9 runs)"


def test_fitting_counts_the_groups_that_fit_together_in_order():
    rows = [L.depth_configs(L.base_config("tanh", False, STEPS, 42), d) for d in (1, 2, 3)]
    one, two = depth_cost(1), depth_cost(1) + depth_cost(2)
    assert cost.fitting(rows, one / 2) == 0
    assert cost.fitting(rows, one) == 1
    assert cost.fitting(rows, two) == 2
    assert cost.fitting(rows, float("inf")) == 3
    assert cost.fitting([], 0.0) == 0


def test_a_run_that_measures_the_dev_split_only_costs_its_rows_less():
    (cell,) = L.depth_configs(L.base_config("tanh", False, STEPS, 42), 1)[:1]
    full = cell.replace(evaluation="full")
    assert cell.train.evaluation == "dev"
    assert cost.cpu_seconds([cell]) < cost.cpu_seconds([full])
    dev_rows, full_rows = (sum(r * n for r, n in cost.evaluations(c)) for c in (cell, full))
    assert dev_rows < full_rows
    assert cost.captures(cell) == 0 < cost.captures(full)  # no diagnostics
