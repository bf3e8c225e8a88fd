"""A form's cost before it trains (hosting/cost.py), the demo's budget per submission
(ui.settings.check_cost, on Compare) and the estimates a waiting visitor reads."""

import json
import os
import threading
from dataclasses import replace
from pathlib import Path

import hypothesis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hosting import cost
from hosting.turns import Place
from mlp_core import train
from mlp_core.bn_fold import FOLD_DEFAULT, fold_configs
from mlp_core.config import ConfigError, ModelConfig, RunConfig, TrainConfig
from mlp_core.stack import StackTrainer
from mlp_core.zero_init import ZERO_INIT_DEFAULT, zero_init_configs
from tests.app_helpers import open_app
from ui import settings
from ui.waiting import waiting_text

STEP_COST = json.loads((Path(__file__).parents[1] / "bench" / "step_cost.json").read_text())
CAPS = RunConfig(  # the demo caps' largest run
    model=ModelConfig(n_layers=6, n_hidden=200, n_embd=10),
    train=TrainConfig(steps=5_000, batch_size=1024),
)


def runs(cfg: RunConfig, n: int) -> list[RunConfig]:
    return [replace(cfg, train=replace(cfg.train, seed=s)) for s in range(n)]


def test_the_estimate_grows_with_every_dimension_of_a_form():
    base = RunConfig(model=ModelConfig(n_layers=2, n_hidden=64))
    one = cost.cpu_seconds([base])
    four = cost.cpu_seconds(runs(base, 4))  # one stack: its ops' fixed costs are shared
    assert one < four < 4 * one
    other = replace(base, model=replace(base.model, n_hidden=65))  # a stack of its own
    assert cost.cpu_seconds([base, other]) == pytest.approx(one + cost.cpu_seconds([other]))
    bn = replace(base, model=replace(base.model, batchnorm=True))
    assert cost.cpu_seconds([bn]) > one
    at = [cost.cpu_seconds([replace(base, train=replace(base.train, steps=n))]) for n in (1, 2, 3)]
    assert at[2] - at[1] == pytest.approx(at[1] - at[0]) and at[1] > at[0]  # a cost per step
    for model in (replace(base.model, n_layers=4), replace(base.model, n_hidden=128)):
        assert cost.cpu_seconds([replace(base, model=model)]) > one
    wider = replace(base, train=replace(base.train, batch_size=256))
    assert cost.cpu_seconds([wider]) > one


def test_on_a_shared_server_the_wall_time_counts_the_open_trainings(monkeypatch):
    cfgs = runs(CAPS, 1)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)  # no core for a helper thread
    assert cost.wall_seconds(cfgs, 0) == cost.cpu_seconds(cfgs)
    assert cost.wall_seconds(cfgs, 2) == pytest.approx(3 * cost.cpu_seconds(cfgs))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # the evaluation's helper has one
    assert cost.wall_seconds(cfgs, 0) < cost.cpu_seconds(cfgs)


def test_a_stack_split_over_two_processes_takes_its_larger_half(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    cfgs = runs(CAPS, 5)  # 25,000 model-steps: split 3 + 2
    assert train.worker_count(cfgs) == 2
    assert cost.wall_seconds(cfgs, 0) == pytest.approx(cost.cpu_seconds(cfgs[:3]))
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert cost.wall_seconds(cfgs, 0) == pytest.approx(cost.cpu_seconds(cfgs))


@hypothesis.settings(max_examples=25, deadline=None)
@given(
    steps=st.integers(1, 450),
    evaluation=st.sampled_from(["full", "dev"]),
    runs_=st.integers(1, 2),
)
def test_what_the_estimate_counts_is_what_a_training_does(small_ds, steps, evaluation, runs_):
    """Curve points, diagnostics captures and steps that keep their gradients, as the
    estimate counts them, against a training's own record of them."""
    base = RunConfig().replace(
        n_layers=1, n_hidden=4, n_embd=2, steps=steps, batch_size=4, evaluation=evaluation
    )
    kept = []
    grad_step = StackTrainer.grad_step

    def counted(self, i, *a):
        kept.append(i)
        return grad_step(self, i, *a)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(StackTrainer, "grad_step", counted)
        out = train.train_stack(runs(base, runs_), small_ds, workers=1)[0]
    m = out.metrics
    assert cost.points(base) == len(m["curve"]["step"])
    diag = m["diagnostics"]
    assert cost.captures(base) == (len(diag["steps"]) if diag else 0)
    assert cost.grad_steps(base) == len(kept)


@hypothesis.settings(max_examples=12, deadline=None)
@given(
    K=st.integers(1, 12),
    evaluation=st.sampled_from(["full", "dev"]),
    steps=st.integers(2, 60),
)
def test_the_evaluations_rows_and_the_helper_threads_share_are_what_training_does(
    K, evaluation, steps
):
    """The rows each evaluation forwards (the built-in names' distinct contexts) and the
    share of them the training's own thread computes, against the evaluations' record."""
    from mlp_core.data import default_dataset
    from mlp_core.fast import evaluate

    calls, run = [], evaluate._run
    me = threading.get_ident()

    def recorded(chunk, X, W, starts, n):
        calls.append((threading.get_ident() == me, len(starts) * n))
        return run(chunk, X, W, starts, n)

    planned = evaluate._planned_loglik

    def whole(model, X, W, fused):
        calls.append(("evaluation", len(X)))
        return planned(model, X, W, fused)

    base = RunConfig().replace(
        n_layers=1, n_hidden=2, n_embd=2, steps=steps, batch_size=2, evaluation=evaluation
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(evaluate, "_run", recorded)
        mp.setattr(evaluate, "_planned_loglik", whole)
        train.train_stack(runs(base, K), default_dataset(), workers=1)
    made = [rows for kind, rows in calls if kind == "evaluation"]
    counted = [rows for rows, times in cost.evaluations(base) for _ in range(times)]
    assert sorted(made) == sorted(counted)
    mine = sum(rows for kind, rows in calls if kind is True)
    helper = sum(rows for kind, rows in calls if kind is False)
    tails = sum(made) - mine - helper  # each evaluation's last, partial chunk: this thread
    assert (mine + tails) / sum(made) == pytest.approx(cost.eval_caller_share(runs(base, K), 2))


def test_the_pages_first_answers_fit_the_demo_budget(monkeypatch):
    monkeypatch.setenv(settings.DEMO_ENV, "1")
    settings.check_cost(zero_init_configs(ZERO_INIT_DEFAULT))
    settings.check_cost(fold_configs(FOLD_DEFAULT))


def test_the_demo_budget_fits_a_class_of_30_over_5_minutes_on_one_core():
    assert cost.class_budget(30, 300) == settings.DEMO_BUDGET_S
    b, over, zero = settings.DEMO_BUDGET_S, cost.ANSWER_OVERRUN, cost.CUSTOM_ZERO_INIT_S
    assert 30 * (zero + b * over) <= 300 < 30 * (zero + (b + 1) * over)
    # the custom zero-init is a submission too
    assert cost.cpu_seconds(zero_init_configs(ZERO_INIT_DEFAULT)) <= settings.DEMO_BUDGET_S
    assert cost.class_budget(30, 300, cores=2) == cost.class_budget(15, 300)  # 2 x
    # an answer costs at least its training: the measured answers are not below the model's
    zero_training = cost.cpu_seconds(zero_init_configs(ZERO_INIT_DEFAULT))
    assert zero_training <= cost.CUSTOM_ZERO_INIT_S
    assert over >= max(r["measured_over_estimate"] for r in STEP_COST["caps"])


def test_the_notebooks_evaluations_are_what_it_forwards():
    """The notebook's arithmetic evaluates row by row: the rows the estimate counts (on the
    built-in names) against the rows its evaluations forward."""
    from mlp_core.data import default_dataset
    from mlp_core.notebook import NotebookNet

    ds = default_dataset()
    seen, loss = [], NotebookNet.loss

    def counted(self, X, Y):
        seen.append(len(X))
        return loss(self, X, Y)

    for steps in (1, 7, 40, 123):
        seen.clear()
        cfg = RunConfig().replace(n_layers=1, n_hidden=2, steps=steps, arithmetic="notebook")
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(NotebookNet, "loss", counted)
            train.train_stack([cfg], ds, workers=1)
        m = cfg.model
        f = cost.notebook_features(cfg)[cost.NOTEBOOK_TERMS.index("EVAL_ELEM_S")]
        rows = f / (m.n_hidden * m.n_layers)
        assert sum(seen) == rows


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


def test_the_built_in_sizes_are_the_built_in_names_counted():
    from mlp_core.data import default_dataset

    assert cost.data_sizes(default_dataset()) == cost.BUILT_IN


@hypothesis.settings(max_examples=10, deadline=None)
@given(
    words=st.lists(st.text(alphabet="abcde", min_size=1, max_size=7), min_size=20, max_size=300),
    evaluation=st.sampled_from(["full", "dev"]),
    arithmetic=st.sampled_from(["engine", "notebook"]),
)
def test_an_uploads_evaluations_are_counted_on_its_own_splits(words, evaluation, arithmetic):
    """A word list of its own: the rows each evaluation forwards, against the estimate's
    count on that list (cost.data_sizes), not the built-in names'."""
    from mlp_core.data import dataset_from_words
    from mlp_core.fast import evaluate
    from mlp_core.notebook import NotebookNet

    ds = dataset_from_words(words, "test: generated")
    cfg = RunConfig().replace(
        n_layers=1, n_hidden=2, n_embd=2, steps=30, batch_size=2, evaluation=evaluation
    )
    if arithmetic == "notebook":
        cfg = cfg.replace(arithmetic="notebook", evaluation="full")
    seen = []
    planned, loss = evaluate._planned_loglik, NotebookNet.loss

    def engine(model, X, W, fused):
        seen.append(len(X))
        return planned(model, X, W, fused)

    def notebook(self, X, Y):
        seen.append(len(X))
        return loss(self, X, Y)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(evaluate, "_planned_loglik", engine)
        mp.setattr(NotebookNet, "loss", notebook)
        train.train_stack([cfg], ds, workers=1)
    sizes = cost.data_sizes(ds)
    if arithmetic == "notebook":
        f = cost.notebook_features(cfg, sizes)[cost.NOTEBOOK_TERMS.index("EVAL_ELEM_S")]
        assert sum(seen) == f / (cfg.model.n_hidden * cfg.model.n_layers)
    else:
        counted = [rows for rows, times in cost.evaluations(cfg, sizes) for _ in range(times)]
        assert sorted(seen) == sorted(counted)


def test_a_small_upload_costs_less_to_evaluate_and_the_sizes_kept_are_bounded(monkeypatch):
    from mlp_core.data import dataset_from_words

    monkeypatch.setattr(cost, "_sizes", cost.OrderedDict())
    cfgs = [RunConfig().replace(n_layers=2, n_hidden=64, steps=1000)]
    lists = [
        dataset_from_words([f"{a}{b}" for a in "abcd" for b in "efgh"] + [f"x{i}"], "t")
        for i in range(cost.SIZES_KEPT + 3)
    ]
    small = cost.data_sizes(lists[0])
    assert small.train < cost.BUILT_IN.train
    assert cost.cpu_seconds(cfgs, small) < cost.cpu_seconds(cfgs)
    for ds in lists:
        cost.data_sizes(ds)
    assert len(cost._sizes) == cost.SIZES_KEPT


def test_a_waiting_jobs_estimate_is_priced_on_the_data_set_it_trains_on(tmp_path, small_ds):
    """The scheduler's job estimate (what visitors waiting behind it read) counts the data
    set the runs train on, as the form's estimate does."""
    from hosting.schedule import Scheduler
    from hosting.turns import Turns
    from mlp_core.runs import get_or_train
    from mlp_core.store import RunStore

    estimates, job = [], Turns.job

    def recorded(self, *a, **k):
        estimates.append(k.get("estimate"))
        return job(self, *a, **k)

    cfg = RunConfig().replace(n_layers=1, n_hidden=4, steps=20)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Turns, "job", recorded)
        get_or_train([cfg], small_ds, RunStore(tmp_path), scheduler=Scheduler())
    assert estimates == [cost.cpu_seconds([cfg], cost.data_sizes(small_ds))]
    assert estimates[0] != cost.cpu_seconds([cfg])  # 3,000 names: fewer contexts
