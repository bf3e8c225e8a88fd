"""The worker pool started in the background: once, whoever asks, and used by the next stack
split over two processes; a start that fails leaves the stack to train as without it."""

import threading

import pytest

from mlp_core import train, workers
from tests.engine_reference import _base


@pytest.fixture
def empty_pool():
    """No worker running, and none left running after the test."""

    def close_all():
        for remote in workers._POOL:
            remote.close()
        workers._POOL.clear()

    close_all()
    yield
    close_all()


def test_the_background_start_is_idempotent_and_the_next_split_stack_uses_it(
    small_ds, empty_pool, monkeypatch
):
    starts = []

    class Counted(workers.Remote):
        def __init__(self):
            starts.append(1)
            super().__init__()

    monkeypatch.setattr(workers, "Remote", Counted)
    threads, calls = [], []

    def call():
        calls.append(workers.warm_in_background())

    for _ in range(4):  # visitors opening the page at once
        threads.append(threading.Thread(target=call))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for warm in calls:
        if warm is not None:
            warm.join()
    assert sum(warm is not None for warm in calls) >= 1
    assert len(starts) == 1 and len(workers._POOL) == 1
    assert workers.warm_in_background() is None  # started already: nothing to do
    pid = workers._POOL[0].proc.pid

    cfgs = [_base("float32").replace(seed=s, steps=30) for s in range(2)]
    runs = train.train_stack(cfgs, small_ds, workers=2)
    assert [r.status for r in runs] == ["ok", "ok"]
    assert len(starts) == 1  # the stack started no worker of its own
    assert [r.proc.pid for r in workers._POOL] == [pid]  # the same process, still usable
    assert workers._POOL[0].proc.poll() is None


def test_a_pool_in_use_is_left_alone(empty_pool):
    assert workers._LOCK.acquire(blocking=False)
    try:
        assert workers.warm_in_background() is None
    finally:
        workers._LOCK.release()
    assert not workers._POOL


def test_a_worker_that_cannot_start_leaves_the_stack_to_train_as_without_it(
    small_ds, empty_pool, monkeypatch
):
    cfgs = [_base("float32").replace(seed=s, steps=30) for s in range(2)]
    monkeypatch.setattr(workers.sys, "executable", "/no/such/python")  # Popen raises
    warm = workers.warm_in_background()
    warm.join()
    assert not workers._POOL
    monkeypatch.undo()
    runs = train.train_stack(cfgs, small_ds, workers=2)  # starts its worker as it does
    assert [r.status for r in runs] == ["ok", "ok"]
    assert len(workers._POOL) == 1 and workers._POOL[0].proc.poll() is None
