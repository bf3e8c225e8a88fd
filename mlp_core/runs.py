"""A question's runs, each from the run store when there, else trained and stored:
get_or_train (a hosted app's scheduler optional) and run_experiment, the shape both
questions share. The store itself, persistence only, is store.py."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from .config import RunConfig
from .data import Dataset
from .store import RunStore, run_key
from .train import ProgressFn, RunOutcome, stack_key, train_stack


def get_or_train(
    cfgs: list[RunConfig],
    ds: Dataset,
    store: RunStore | None = None,
    on_progress: ProgressFn | None = None,
    scheduler=None,
    **schedule,
) -> list[RunOutcome]:
    """Each config's run: from the store when there, else trained (stacked where shapes
    allow) and stored. Results in config order. Without a ``scheduler`` the missing runs
    train here and now (the CLI, the core's tests). A hosted app hands its scheduler
    (hosting/schedule.py): ``scheduler.run(missing, prefetch, attempt, lock=lock, ds=ds,
    **schedule)`` reserves the missing runs (``ds``: what they train on, for their
    estimate), takes their locks with ``lock(on_wait)`` (a context; while another process
    sharing the store holds one, ``on_wait()`` is called between non-blocking tries, so the
    caller can show the wait or leave it), calls ``prefetch()`` (the store read again: runs
    another caller or process trained meanwhile), waits its turn and calls
    ``attempt(on_slice)`` to train the rest; within ``lock`` the attempt takes no lock of
    its own."""
    results = [store.get(c, ds.sha256) if store else None for c in cfgs]
    if all(results):
        return results

    def prefetch() -> list | None:
        if not store:
            return None
        again = [r or store.get(c, ds.sha256) for r, c in zip(results, cfgs)]
        return again if all(again) else None

    def attempt(on_slice=None) -> list:
        return _train_missing(cfgs, ds, store, on_progress, results, on_slice)

    if scheduler is None:
        return attempt()
    missing = [(run_key(c, ds.sha256), c) for c, r in zip(cfgs, results) if r is None]
    held = []  # not empty while the scheduler holds the missing runs' locks

    @contextlib.contextmanager
    def lock(on_wait: Callable[[], None] | None = None):
        if store is None:
            yield
            return
        with store.locked([c for _, c in missing], ds.sha256, on_wait):
            held.append(True)
            try:
                yield
            finally:
                held.clear()

    def attempt_held(on_slice=None) -> list:
        return _train_missing(cfgs, ds, store, on_progress, results, on_slice, bool(held))

    return scheduler.run(missing, prefetch, attempt_held, lock=lock, ds=ds, **schedule)


def run_experiment(
    cfgs: list[RunConfig],
    report: Callable,
    ds: Dataset,
    store: RunStore | None = None,
    on_progress: ProgressFn | None = None,
):
    """The shape both questions share (zero_init.py, bn_fold.py): their configs' runs, from
    the store or trained, handed to their report function: report(*outcomes, ds)."""
    return report(*get_or_train(cfgs, ds, store, on_progress), ds)


def _train_missing(cfgs, ds, store, on_progress, results, on_slice=None, held=False):
    """Train the runs still missing, stack by stack; ``held``: the caller holds their
    locks already (get_or_train's ``lock``), else each stack takes its own."""
    if store:  # another caller may have trained them while we waited for a turn
        results = [r or store.get(c, ds.sha256) for r, c in zip(results, cfgs)]
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(cfgs):
        if results[i] is None:
            groups.setdefault(stack_key(c), []).append(i)
    for idx in groups.values():
        if store and not held:
            _train_group_locked(idx, cfgs, ds, store, on_progress, results, on_slice)
        else:
            _train_group(idx, cfgs, ds, store, on_progress, results, on_slice)
    return results


def _train_group_locked(idx, cfgs, ds, store, on_progress, results, on_slice):
    """Under the runs' locks (shared with other processes using the store): read them
    again, then train what is still missing."""
    with store.locked([cfgs[i] for i in idx], ds.sha256):
        for i in idx:
            results[i] = store.get(cfgs[i], ds.sha256)
        missing = [i for i in idx if results[i] is None]
        if missing:
            _train_group(missing, cfgs, ds, store, on_progress, results, on_slice)


def _train_group(idx, cfgs, ds, store, on_progress, results, on_slice):
    stack = [cfgs[i] for i in idx]
    for i, outcome in zip(idx, train_stack(stack, ds, on_progress, on_slice=on_slice)):
        results[i] = outcome
        if store:
            store.put(outcome, ds.sha256)
