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
from mlp_core.store import RunStore, get_or_train

from .schedule import SCHEDULER

WARM_ENV = "PRACTICE_BOARD_WARM"  # "0": no warm-up (the tests' setting)
VISITOR = "warm-up"  # its name in the server's turns

EXIT_JOIN_S = 60  # at exit, how long the process waits for the warm-up to stop
_lock = threading.Lock()
_thread: threading.Thread | None = None
_stop = threading.Event()  # set at exit: the warm-up stops at its next curve point


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


def _stop_and_join(thread: threading.Thread) -> None:
    """At exit: stop the warm-up's training and wait for it, so the interpreter never
    finalizes while the daemon thread is inside torch (that aborts the process)."""
    _stop.set()
    thread.join(EXIT_JOIN_S)


def _run(ds: Dataset, store: RunStore, experiments) -> None:
    with contextlib.suppress(OSError, AttributeError):  # Linux: this thread alone
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    for cfgs in experiments:
        if _stop.is_set():
            return
        try:
            get_or_train(
                cfgs,
                ds,
                store,
                lambda progress: _stop.is_set(),  # True: stop (train.ProgressFn)
                scheduler=SCHEDULER,
                visitor=VISITOR,
                background=True,
            )
        except Exception:  # noqa: BLE001 - a warm-up must never take a server down
            return
