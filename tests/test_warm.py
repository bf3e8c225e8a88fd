"""The server's warm-up (hosting/warm.py) and the reservations that keep two callers from
training the same runs twice (reservations.Reservations in runs.get_or_train)."""

import ast
import threading
import time
from pathlib import Path

import pytest
from app_helpers import answer_of, open_app

from hosting import warm
from hosting.reservations import Reservations
from hosting.schedule import SCHEDULER
from mlp_core import runs
from mlp_core.bn_fold import FOLD_DEFAULT, fold_configs
from mlp_core.data import default_dataset
from mlp_core.runs import get_or_train
from mlp_core.store import RunStore, run_key
from mlp_core.zero_init import ZERO_INIT_DEFAULT, zero_init_configs
from ui import training

ROOT = Path(__file__).resolve().parents[1]
JOIN_S = 300  # a guard against a hang, not a timing assert


@pytest.fixture
def counted(monkeypatch):
    """train_stack as get_or_train calls it, counting the runs it trains."""
    trained, real = [], runs.train_stack

    def train_stack(cfgs, *args, **kwargs):
        trained.extend(cfgs)
        return real(cfgs, *args, **kwargs)

    monkeypatch.setattr(runs, "train_stack", train_stack)
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
    counting = runs.train_stack

    def gated(*args, **kwargs):
        assert waiting.wait(JOIN_S)
        return counting(*args, **kwargs)

    monkeypatch.setattr(runs, "train_stack", gated)

    def first():
        results["first"] = get_or_train(cfgs, small_ds, store, scheduler=SCHEDULER, visitor="a")

    def second(place):
        places.append(place)
        waiting.set()

    t = threading.Thread(target=first)
    t.start()
    while not SCHEDULER.reservations.busy() and t.is_alive():
        time.sleep(0.001)  # until the first caller has reserved its runs
    results["second"] = get_or_train(
        cfgs, small_ds, store, scheduler=SCHEDULER, on_wait=second, visitor="b"
    )
    t.join(JOIN_S)
    assert len(counted) == 2  # each run once, by the first caller
    assert places and all(p.sharing for p in places)  # the second was told why it waits
    assert all(o.cached for o in results["second"])  # ... and read them from the store
    first_losses = [o.metrics["val_loss"] for o in results["first"]]
    assert [o.metrics["val_loss"] for o in results["second"]] == first_losses
    assert not SCHEDULER.reservations.busy()


def test_a_visitor_waiting_for_the_warm_ups_runs_promotes_it():
    class Turns:
        promoted = []

        def promote(self, visitor):
            self.promoted.append(visitor)

    reservations = Reservations(Turns(), poll=0.001)
    held, asked = threading.Event(), threading.Event()

    def warm():
        with reservations.reserve({"k"}, "warm-up", background=True):
            held.set()
            asked.wait(JOIN_S)

    t = threading.Thread(target=warm)
    t.start()
    assert held.wait(JOIN_S)
    with reservations.reserve({"k"}, "visitor", lambda place: asked.set()):
        pass
    t.join(JOIN_S)
    assert Turns.promoted and set(Turns.promoted) == {"warm-up"}


def test_warm_up_trains_each_experiment_once_per_process(
    small_ds, tiny_cfg, tmp_path, warm_on, counted
):
    cfgs = [tiny_cfg.replace(seed=7)]
    store = RunStore(tmp_path)
    thread = warm.warm_up(small_ds, store, [cfgs])
    assert warm.warm_up(small_ds, store, [cfgs]) is thread  # once per process
    thread.join(JOIN_S)
    assert store.get(cfgs[0], small_ds.sha256) is not None
    assert counted == cfgs


def test_a_visitor_can_read_how_far_the_warm_up_trains_their_runs(
    small_ds, tiny_cfg, tmp_path, monkeypatch
):
    cfgs = [tiny_cfg.replace(steps=200, seed=s) for s in (3, 4)]
    keys = {run_key(c, small_ds.sha256) for c in cfgs}
    other = {run_key(tiny_cfg.replace(seed=5), small_ds.sha256)}
    seen, real = [], warm.get_or_train

    def get_or_train(cfgs, ds, store, on_progress, **kwargs):
        seen.append(warm.progress_of(keys))  # reserved, no curve point yet: True

        def watched(progress):
            stop = on_progress(progress)
            seen.append((warm.progress_of({next(iter(keys))}), warm.progress_of(other)))
            return stop

        return real(cfgs, ds, store, watched, **kwargs)

    monkeypatch.setattr(warm, "get_or_train", get_or_train)
    warm._run(small_ds, RunStore(tmp_path), [cfgs])
    assert seen[0] is True
    steps = [p.step for p, _ in seen[1:]]
    assert steps and steps == sorted(steps) and all(p.steps == 200 for p, _ in seen[1:])
    assert all(not mine for _, mine in seen[1:])  # runs it does not train: False
    assert warm.progress_of(keys) is False  # done: it holds nothing


def test_warm_up_is_off_when_switched_off(small_ds, tmp_path, monkeypatch):
    monkeypatch.setenv(warm.WARM_ENV, "0")
    monkeypatch.setattr(warm, "_thread", None)
    assert warm.warm_up(small_ds, RunStore(tmp_path), []) is None


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
    warmed = {run_key(c, sha) for cfgs in training.default_experiments() for c in cfgs}
    assert warmed == wanted["zero"] | wanted["fold"]


@pytest.mark.usefixtures("fresh_app")
def test_after_the_warm_up_the_zero_init_page_answers_without_training(warm_on, monkeypatch):
    home = open_app()  # where no server started it, the first visit does, after the page
    assert not home.exception
    warm._thread.join(JOIN_S)

    def no_training(*args, **kwargs):
        raise AssertionError("the page trained: the warm-up's runs were not used")

    monkeypatch.setattr(runs, "train_stack", no_training)
    at = open_app("pages/zero_init.py")
    assert not at.exception
    assert "`layers.10.bias`" in answer_of(at)


def test_streamlit_run_serves_app_py_as_the_app_with_the_preload():
    """`streamlit run app.py` runs the App's lifespan (ui/server.py) only if it finds the
    App in app.py; it looks for it in the source, as this does."""
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(ROOT / "app.py")
    assert found.is_asgi_app and found.import_string == "app:app"
    calls = [  # app = st.App(__file__, lifespan=ui.server.lifespan)
        node.value
        for node in ast.walk(ast.parse((ROOT / "app.py").read_text()))
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["app"]
    ]
    assert [ast.unparse(k.value) for k in calls[0].keywords if k.arg == "lifespan"] == [
        "ui.server.lifespan"
    ]


@pytest.mark.usefixtures("fresh_app")
def test_the_servers_start_starts_the_warm_up(tiny_cfg, warm_on, monkeypatch):
    import ui
    from ui import server

    cfgs = [tiny_cfg.replace(seed=11)]
    monkeypatch.setattr(training, "default_experiments", lambda: [cfgs])
    server.preload()
    thread = warm._thread
    assert thread is not None
    thread.join(JOIN_S)
    sha = default_dataset().sha256
    assert ui.run_store().get(cfgs[0], sha) is not None  # the warm-up trained and stored it


@pytest.fixture
def server_log(caplog):
    """ui/server.py's log records (Streamlit's loggers do not propagate to the root)."""
    from ui import server

    server.LOG.addHandler(caplog.handler)
    yield caplog
    server.LOG.removeHandler(caplog.handler)


@pytest.mark.usefixtures("fresh_app")
def test_a_server_without_the_built_in_names_starts_without_a_warm_up(
    warm_on, monkeypatch, server_log
):
    from mlp_core import data
    from ui import datasets, server

    def no_names():
        raise data.DataError("no built-in names here")

    monkeypatch.setattr(datasets.data, "default_dataset", no_names)
    server.preload()  # logged, no exception
    assert warm._thread is None
    assert "built-in names could not be read" in server_log.text
    assert "preload failed" not in server_log.text


@pytest.mark.usefixtures("fresh_app")
def test_a_failing_preload_never_stops_the_server(warm_on, monkeypatch, server_log):
    import ui
    from ui import server, training

    def broken():
        raise RuntimeError("the run store cannot be opened")

    monkeypatch.setattr(training, "run_store", broken)
    monkeypatch.setattr(ui, "run_store", broken, raising=False)
    server.preload()
    assert "preload failed" in server_log.text and warm._thread is None


def test_the_server_opens_the_browser_once_it_listens_unless_headless(monkeypatch):
    """Served as an App, `streamlit run` opens no browser itself: the lifespan does."""
    import asyncio
    import socket

    from streamlit import cli_util, config

    from ui import server

    opened = []
    monkeypatch.setattr(cli_util, "open_browser", opened.append)
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        options = {"server.headless": True, "server.port": port}
        real = config.get_option
        monkeypatch.setattr(config, "get_option", lambda name: options.get(name, real(name)))
        monkeypatch.setattr(config, "is_manually_set", lambda name: False)
        asyncio.run(server.open_browser(wait_s=5))
        assert opened == []  # headless: never
        options["server.headless"] = False
        asyncio.run(server.open_browser(wait_s=5))
    assert opened == [f"http://localhost:{port}"]
