"""A form's cost before it trains (hosting/cost.py), the demo's budget per submission
(ui.settings.check_cost, on Compare) and the estimates a waiting visitor reads."""

from dataclasses import replace

import pytest

from hosting import cost
from hosting.turns import Place
from mlp_core.bn_fold import FOLD_DEFAULT, fold_configs
from mlp_core.config import ConfigError, ModelConfig, RunConfig, TrainConfig
from mlp_core.zero_init import ZERO_INIT_DEFAULT, zero_init_configs
from tests.app_helpers import open_app
from ui import settings
from ui.waiting import waiting_text

CAPS = RunConfig(  # the demo caps' largest run
    model=ModelConfig(n_layers=6, n_hidden=200, n_embd=10),
    train=TrainConfig(steps=5_000, batch_size=1024),
)


def runs(cfg: RunConfig, n: int) -> list[RunConfig]:
    return [replace(cfg, train=replace(cfg.train, seed=s)) for s in range(n)]


def test_the_estimate_grows_with_every_dimension_of_a_form():
    base = RunConfig(model=ModelConfig(n_layers=2, n_hidden=64))
    one = cost.cpu_seconds([base])
    assert cost.cpu_seconds(runs(base, 4)) == pytest.approx(4 * one)
    at = [cost.cpu_seconds([replace(base, train=replace(base.train, steps=n))]) for n in (1, 2, 3)]
    assert at[2] - at[1] == pytest.approx(at[1] - at[0]) and at[1] > at[0]  # a cost per step
    for model in (replace(base.model, n_layers=4), replace(base.model, n_hidden=128)):
        assert cost.cpu_seconds([replace(base, model=model)]) > one
    wider = replace(base, train=replace(base.train, batch_size=256))
    assert cost.cpu_seconds([wider]) > one


def test_on_a_shared_server_the_wall_time_counts_the_open_trainings():
    cfgs = runs(CAPS, 1)
    assert cost.wall_seconds(cfgs, 0) == cost.cpu_seconds(cfgs)
    assert cost.wall_seconds(cfgs, 2) == pytest.approx(3 * cost.cpu_seconds(cfgs))


def test_the_pages_first_answers_fit_the_demo_budget(monkeypatch):
    monkeypatch.setenv(settings.DEMO_ENV, "1")
    settings.check_cost(zero_init_configs(ZERO_INIT_DEFAULT))
    settings.check_cost(fold_configs(FOLD_DEFAULT))


def test_the_demo_budget_fits_a_class_of_30_over_5_minutes_on_one_core():
    zero = cost.cpu_seconds(zero_init_configs(ZERO_INIT_DEFAULT))  # a custom zero-init
    assert cost.class_budget(30, 300, zero) == settings.DEMO_BUDGET_S
    b, over = settings.DEMO_BUDGET_S, cost.CAPS_OVERRUN  # a form at the caps overruns
    assert 30 * (zero + b * over) <= 300 < 30 * (zero + (b + 1) * over)
    assert zero <= settings.DEMO_BUDGET_S  # the custom zero-init is a submission too
    assert cost.class_budget(30, 300, zero, cores=2) == cost.class_budget(15, 300, zero)  # 2 x


def test_a_form_over_the_demo_budget_is_refused_with_its_estimate(monkeypatch):
    cfgs = runs(CAPS, 8)
    need = f"{cost.cpu_seconds(cfgs):,.0f} s"
    settings.check_cost(cfgs)  # not a demo: no budget
    monkeypatch.setenv(settings.DEMO_ENV, "1")
    with pytest.raises(ConfigError, match=f"about {need} of computing"):
        settings.check_cost(cfgs)


def test_compare_refuses_a_form_at_the_caps_over_the_budget_saying_how_long(monkeypatch, fresh_app):
    monkeypatch.setenv(settings.DEMO_ENV, "1")
    at = open_app("pages/compare.py")
    caps = {"cmp_n_layers": 6, "cmp_n_hidden": 200, "cmp_steps": 5000, "cmp_batch_size": 1024}
    for key, value in caps.items():
        at.number_input(key=key).set_value(value)
    at.run()
    captions = " ".join(c.value for c in at.caption)
    assert f"Over this demo's {settings.DEMO_BUDGET_S} s of computing" in captions
    at = at.button(key="cmp_train").click().run()
    errors = " ".join(e.value for e in at.error)
    assert "of computing on this server" in errors
    assert f"allows {settings.DEMO_BUDGET_S} s per submission" in errors
    assert not [b for b in at.button if b.label == "Stop"]  # nothing trained


def test_a_visitor_waiting_for_memory_reads_an_estimate():
    text = waiting_text(Place(position=1, waiting=1, active=2, wait_s=95.2, admitted=False))
    assert "Waiting for memory" in text and "~95 s" in text and "place 1" in text
    text = waiting_text(Place(position=1, waiting=1, active=2, wait_s=600, admitted=False))
    assert "~10 min" in text


def test_compare_shows_a_forms_estimate_before_it_trains(fresh_app):
    at = open_app("pages/compare.py")
    captions = " ".join(c.value for c in at.caption)
    assert "Training: about" in captions and "on this server now" in captions
    assert "Over this demo" not in captions
