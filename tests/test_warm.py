"""The server's warm-up (mlp_core/warm.py) and the claims that keep two callers from
training the same runs twice (claims.Claims in store.get_or_train)."""

import threading
import time

import pytest
from app_helpers import open_app

from mlp_core import store as run_store
from mlp_core import warm
from mlp_core.bn_fold import FOLD_DEFAULT, fold_configs
from mlp_core.claims import Claims
from mlp_core.data import default_dataset
from mlp_core.store import RunStore, get_or_train, run_key
from mlp_core.zero_init import ZERO_INIT_DEFAULT, zero_init_configs

JOIN_S = 300  # a guard against a hang, not a timing assert


@pytest.fixture
def counted(monkeypatch):
    """train_stack as get_or_train calls it, counting the runs it trains."""
    trained, real = [], run_store.train_stack

    def train_stack(cfgs, *args, **kwargs):
        trained.extend(cfgs)
        return real(cfgs, *args, **kwargs)

    monkeypatch.setattr(run_store, "train_stack", train_stack)
    return trained


@pytest.fixture
def warm_on(monkeypatch):
    monkeypatch.setenv(warm.WARM_ENV, "1")
    monkeypatch.setattr(warm, "_thread", None)  # a fresh process's state


def test_two_callers_asking_for_the_same_runs_train_them_once(
    small_ds, tiny_cfg, tmp_path, counted, monkeypatch
):
    cfgs = [tiny_cfg.replace(steps=400, seed=s) for s in (1, 2)]
    store = RunStore(tmp_path)
    places, results = [], {}
    waiting = threading.Event()  # the first caller trains once the second waits for it
    counting = run_store.train_stack

    def gated(*args, **kwargs):
        assert waiting.wait(JOIN_S)
        return counting(*args, **kwargs)

    monkeypatch.setattr(run_store, "train_stack", gated)

    def first():
        results["first"] = get_or_train(cfgs, small_ds, store, None, None, "a")

    def second(place):
        places.append(place)
        waiting.set()

    t = threading.Thread(target=first)
    t.start()
    while not run_store.CLAIMS.busy() and t.is_alive():
        time.sleep(0.001)  # until the first caller has claimed its runs
    results["second"] = get_or_train(cfgs, small_ds, store, None, second, "b")
    t.join(JOIN_S)
    assert len(counted) == 2  # each run once, by the first caller
    assert places and all(p.sharing for p in places)  # the second was told why it waits
    assert all(o.cached for o in results["second"])  # ... and read them from the store
    first_losses = [o.metrics["val_loss"] for o in results["first"]]
    assert [o.metrics["val_loss"] for o in results["second"]] == first_losses
    assert not run_store.CLAIMS.busy()


def test_a_visitor_waiting_for_the_warm_ups_runs_promotes_it():
    class Turns:
        promoted = []

        def promote(self, visitor):
            self.promoted.append(visitor)

    claims, held, asked = Claims(Turns(), poll=0.001), threading.Event(), threading.Event()

    def warm():
        with claims.claim({"k"}, "warm-up", background=True):
            held.set()
            asked.wait(JOIN_S)

    t = threading.Thread(target=warm)
    t.start()
    assert held.wait(JOIN_S)
    with claims.claim({"k"}, "visitor", lambda place: asked.set()):
        pass
    t.join(JOIN_S)
    assert Turns.promoted and set(Turns.promoted) == {"warm-up"}


def test_warm_up_trains_each_experiment_once_per_process(
    small_ds, tiny_cfg, tmp_path, warm_on, counted
):
    cfgs = [tiny_cfg.replace(seed=7)]
    store = RunStore(tmp_path)
    thread = warm.warm_up(small_ds, store, [(cfgs, None)])
    assert warm.warm_up(small_ds, store, [(cfgs, None)]) is thread  # once per process
    thread.join(JOIN_S)
    assert store.get(cfgs[0], small_ds.sha256) is not None
    assert counted == cfgs


def test_warm_up_is_off_when_switched_off(small_ds, tmp_path, monkeypatch):
    monkeypatch.setenv(warm.WARM_ENV, "0")
    monkeypatch.setattr(warm, "_thread", None)
    assert warm.warm_up(small_ds, RunStore(tmp_path)) is None


@pytest.mark.usefixtures("fresh_app")
def test_the_warmed_experiments_are_the_pages_first_answers():
    """What warm.py trains ahead is what the zero-init and fold pages train on their first
    visit with the defaults (a change to a page's DEFAULTS must change warm.py too)."""
    sha = default_dataset().sha256
    zero = open_app("pages/zero_init.py")
    fold = open_app("pages/batchnorm_fold.py")
    assert not zero.exception and not fold.exception
    wanted = {
        "zero": {run_key(c, sha) for c in zero_init_configs(ZERO_INIT_DEFAULT)},
        "fold": {run_key(c, sha) for c in fold_configs(FOLD_DEFAULT)},
    }
    assert set(zero.session_state["runs"]) == wanted["zero"]
    assert set(fold.session_state["runs"]) == wanted["fold"]
    warmed = {run_key(c, sha) for cfgs, _ in warm.default_experiments() for c in cfgs}
    assert warmed == wanted["zero"] | wanted["fold"]


@pytest.mark.usefixtures("fresh_app")
def test_after_the_warm_up_the_zero_init_page_answers_without_training(warm_on, monkeypatch):
    home = open_app()  # the first visit starts the warm-up, after the page
    assert not home.exception
    warm._thread.join(JOIN_S)

    def no_training(*args, **kwargs):
        raise AssertionError("the page trained: the warm-up's runs were not used")

    monkeypatch.setattr(run_store, "train_stack", no_training)
    at = open_app("pages/zero_init.py")
    assert not at.exception
    assert "`layers.10.bias`" in at.success[0].value
