"""The server's warm-up: as a fresh server starts, the pages' default experiments train in
the background, so a page a visitor opens shows its answer at once.

It runs in one daemon thread per process, at the lowest OS priority, as a *background*
job of the server's turns (turns.py): it trains only while no visitor's training waits,
and gives the turn up at its next slice's end when one does. A visitor who asks for the
very runs it is training waits for them instead of training them again (reservations.Reservations),
which raises the warm-up to a visitor's rank until they are stored.

The server starts the warm-up as it starts (ui/server.py), so it reserves the zero-init
pair the moment the first visitor can arrive; app.py starts it too, after a first page,
where no server did (a test's AppTest). Nothing it does can fail a page: an error ends
the warm-up, and the page trains what it needs as it would without one.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading

from mlp_core.config import RunConfig
from mlp_core.data import Dataset
from mlp_core.fast.evaluate import start_helper
from mlp_core.runs import get_or_train
from mlp_core.store import RunStore, run_key
from mlp_core.train import Progress

from .schedule import SCHEDULER

WARM_ENV = "PRACTICE_BOARD_WARM"  # "0": no warm-up (the tests' setting)
VISITOR = "warm-up"  # its name in the server's turns

EXIT_JOIN_S = 60  # at exit, how long the process waits for the warm-up to stop
_lock = threading.Lock()
_thread: threading.Thread | None = None
_stop = threading.Event()  # set at exit: the warm-up stops at its next curve point
# what the warm-up trains now: its runs' keys and its latest Progress (None until the first
# curve point), so a visitor who waits for those runs sees how far they are
_now: dict = {"keys": frozenset(), "progress": None}


def enabled() -> bool:
    return os.environ.get(WARM_ENV, "1") != "0"


def warm_up(
    ds: Dataset, store: RunStore, experiments: list[list[RunConfig]]
) -> threading.Thread | None:
    """Start the warm-up once per process (later calls return the same thread, or None
    when it is switched off); ``experiments``: the configs of each page's first answer,
    handed by the app (ui.training.default_experiments)."""
    global _thread
    if not enabled():
        return None
    with _lock:
        if _thread is None:
            start_helper()  # at the caller's OS priority, not the warm-up's
            _thread = threading.Thread(
                target=_run, args=(ds, store, experiments), name=VISITOR, daemon=True
            )
            _thread.start()
            atexit.register(_stop_and_join, _thread)
        return _thread


def progress_of(keys: set[str]) -> Progress | bool:
    """How far the warm-up's training of any of these run keys is: its latest Progress,
    True while it holds them before its first curve point (waiting for its turn, or just
    started), False when it is not training any of them."""
    now = _now  # one read: the warm-up's thread replaces it whole
    if not now["keys"] & set(keys):
        return False
    return now["progress"] or True


def _stop_and_join(thread: threading.Thread) -> None:
    """At exit: stop the warm-up's training and wait for it, so the interpreter never
    finalizes while the daemon thread is inside torch (that aborts the process)."""
    _stop.set()
    thread.join(EXIT_JOIN_S)


def _run(ds: Dataset, store: RunStore, experiments) -> None:
    with contextlib.suppress(OSError, AttributeError):  # Linux: this thread alone
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    global _now
    keys: frozenset = frozenset()

    def on_progress(progress: Progress) -> bool:  # True: stop (train.ProgressFn)
        global _now
        _now = {"keys": keys, "progress": progress}
        return _stop.is_set()

    try:
        for cfgs in experiments:
            if _stop.is_set():
                return
            keys = frozenset(run_key(c, ds.sha256) for c in cfgs)
            _now = {"keys": keys, "progress": None}
            try:
                get_or_train(
                    cfgs,
                    ds,
                    store,
                    on_progress,
                    scheduler=SCHEDULER,
                    visitor=VISITOR,
                    background=True,
                )
            except Exception:  # noqa: BLE001 - a warm-up must never take a server down
                return
    finally:
        _now = {"keys": frozenset(), "progress": None}
