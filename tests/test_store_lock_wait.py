"""A visitor whose runs another replica trains (another process holds their keys' locks in
the shared store folder) waits without a turn, keeps calling back into the page
(on_wait with a sharing place, so the wait is shown and Stop is honoured), and then reads
the other replica's result from the store."""

import subprocess
import sys
import textwrap
import threading

import pytest

from hosting.schedule import Scheduler
from mlp_core import data
from mlp_core import store_disk as disk
from mlp_core.config import RunConfig
from mlp_core.runs import get_or_train
from mlp_core.store import RunStore, run_key
from tests.test_store_shared import ROOT, WORDS

# another replica: holds the run's lock, and once told to ("go" on stdin) trains the run
# and stores it, then lets the lock go; "quit" lets it go without training
HOLDER = textwrap.dedent(
    """
    import os, sys
    from mlp_core import data, store_disk as disk
    from mlp_core.config import RunConfig
    from mlp_core.store import RunStore, run_key
    from mlp_core.train import train_stack
    root, words = sys.argv[1], sys.argv[2].split(",")
    ds = data.dataset_from_words(words, "test")
    cfg = RunConfig().replace(n_layers=1, n_hidden=8, steps=300)
    store = RunStore(root)
    fd = disk.try_lock(store.path(run_key(cfg, ds.sha256)))
    print("held" if fd is not None else "not held", flush=True)
    if sys.stdin.readline().strip() == "go":
        (outcome,) = train_stack([cfg], ds)
        store.put(outcome, ds.sha256)
    os.close(fd)
    print("released", flush=True)
    """
)


class Stopped(Exception):
    """What Streamlit's Stop raises inside a callback."""


@pytest.fixture
def run():
    ds = data.dataset_from_words(WORDS, "test")
    return RunConfig().replace(n_layers=1, n_hidden=8, steps=300), ds


@pytest.fixture
def holder(tmp_path):
    args = [sys.executable, "-c", HOLDER, str(tmp_path), ",".join(WORDS)]
    proc = subprocess.Popen(
        args, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _tell(proc: subprocess.Popen, line: str) -> None:
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


def test_a_waiter_for_another_replicas_lock_is_called_back_and_can_stop(tmp_path, run, holder):
    cfg, ds = run
    scheduler = Scheduler()
    waits = []

    def on_wait(place) -> None:
        waits.append((place, scheduler.turns.active(), scheduler.reservations.busy()))
        if len(waits) == 3:
            raise Stopped

    with pytest.raises(Stopped):
        get_or_train([cfg], ds, RunStore(tmp_path), scheduler=scheduler, on_wait=on_wait)
    assert len(waits) == 3
    assert all(place.sharing for place, _, _ in waits)  # "these runs are training already"
    assert all(active == 0 for _, active, _ in waits)  # it held no turn while it waited
    assert all(busy == {run_key(cfg, ds.sha256)} for _, _, busy in waits)  # reserved meanwhile
    assert scheduler.reservations.busy() == set() and scheduler.turns.active() == 0  # left clean
    assert RunStore(tmp_path).get(cfg, ds.sha256) is None  # nothing trained here
    _tell(holder, "quit")
    assert holder.stdout.readline().strip() == "released"


def test_a_waiter_reads_the_run_the_other_replica_trained(tmp_path, run, holder):
    cfg, ds = run
    scheduler = Scheduler()
    waits = []

    def on_wait(place) -> None:
        if not waits:  # it waits now: the other replica trains and stores the run
            _tell(holder, "go")
        waits.append(place)

    (outcome,) = get_or_train([cfg], ds, RunStore(tmp_path), scheduler=scheduler, on_wait=on_wait)
    assert waits and all(p.sharing for p in waits)
    assert outcome.cached  # read from the store: the other replica's run, not trained here
    assert outcome.metrics["steps"] == 300
    assert holder.stdout.readline().strip() == "released"
    entry = RunStore(tmp_path).path(run_key(cfg, ds.sha256))
    assert entry.is_dir() and not disk.temp_folders(tmp_path)


def test_another_visitor_trains_while_one_waits_for_a_lock(tmp_path, run, holder, small_ds):
    """The waiter holds no turn: a visitor of the same server trains meanwhile."""
    cfg, ds = run
    scheduler = Scheduler()
    stop = threading.Event()
    other = {}
    small = RunConfig().replace(n_layers=1, n_hidden=8, steps=50)

    def on_wait(place) -> None:
        if "outcome" not in other:  # the first wait: another visitor trains in full
            (other["outcome"],) = get_or_train(
                [small], small_ds, RunStore(tmp_path), scheduler=scheduler, visitor="other"
            )
        if stop.is_set():
            raise Stopped
        stop.set()

    with pytest.raises(Stopped):
        get_or_train(
            [cfg], ds, RunStore(tmp_path), scheduler=scheduler, on_wait=on_wait, visitor="me"
        )
    assert other["outcome"].status == "ok" and not other["outcome"].cached
    assert RunStore(tmp_path).get(small, small_ds.sha256) is not None  # trained and stored
    _tell(holder, "quit")
    assert holder.stdout.readline().strip() == "released"
