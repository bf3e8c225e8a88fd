"""The scheduler the app hands to ``mlp_core.runs.get_or_train``: a caller's missing runs
are reserved (reservations.py: the same runs never train twice at once), then trained in fair
turns with every other caller in this process (turns.py), within a memory budget.

The core calls ``scheduler.run(missing, prefetch, attempt, lock=lock, **schedule)``:
``prefetch()`` reads the store again after a wait (their results, or None), ``lock(poll)``
holds the runs' locks in the store folder that replicas share (a context; while another
process holds one, ``poll()`` is called between non-blocking tries), and
``attempt(on_slice)`` trains what is still missing, calling ``on_slice`` between slices.

The order is reservations, then locks, then turns: a caller waits for another process's
training of its runs without holding this process's turn (the others train meanwhile,
and no two replicas each hold a turn waiting for the other's lock), and sees that wait
(``on_wait`` with a sharing place, at most every ``LOCK_SHOW_S``), where Stop or a session's
end raises and leaves it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

from mlp_core.config import RunConfig
from mlp_core.data import Dataset

from .cost import cpu_seconds, data_sizes
from .reservations import Reservations
from .turns import Place, Turns

# the trainings open at once keep their step buffers: beyond this budget a training waits
# for one to end (a small one still starts): the demo's largest (8 runs of 6 x 200,
# batch 1,024) keeps ~250 MB, so two of them never hold memory together
TRAIN_MEMORY_MB = 400
STACK_BYTES = 26  # bytes a stack keeps per run x batch row x hidden unit (measured)
LOCK_SHOW_S = 0.5  # a wait for another process's lock calls on_wait at most this often


def memory_cost(cfgs: list[RunConfig]) -> float:
    """Bytes a training of these runs keeps while it is open (each stack's planned step
    buffers: ~STACK_BYTES per run x batch row x hidden unit; ARCHITECTURE.md "Sharing one
    server")."""
    return sum(
        STACK_BYTES * c.train.batch_size * (c.model.n_hidden * c.model.n_layers + 100) for c in cfgs
    )


class Scheduler:
    """Reservations, then fair turns (module docstring)."""

    def __init__(self, turns: Turns | None = None):
        self.turns = turns or Turns(budget=TRAIN_MEMORY_MB * 1e6)
        self.reservations = Reservations(self.turns)

    def run(
        self,
        missing: list[tuple[str, RunConfig]],
        prefetch: Callable[[], list | None],
        attempt: Callable[[Callable[[int], int]], list],
        on_wait: Callable[[Place], None] | None = None,
        visitor: str | None = None,
        background: bool = False,
        lock: Callable | None = None,
        ds: Dataset | None = None,
    ) -> list:
        """``missing``: (run key, config) of the runs to train. ``visitor``: who asks
        (default: this thread); a newer request of the same visitor replaces an older one
        still waiting. ``background``: after every other job (warm.py). ``on_wait(place)``
        is called while this visitor waits (it may raise to leave the queue): for another
        visitor's reservation, another process's lock, or a turn. ``lock``: the store's lock
        context for these runs (runs.get_or_train hands it; none: no locks). ``ds``: the data
        set they train on, for the job's estimate (cost.py; the built-in names' without)."""
        who = visitor or f"thread-{threading.get_ident()}"
        with self.reservations.reserve({k for k, _ in missing}, who, on_wait, background):
            done = prefetch()
            if done is not None:
                return done
            held = lock(_lock_wait(on_wait)) if lock else contextlib.nullcontext()
            with held:  # another replica may have trained them while we waited
                done = prefetch()
                if done is not None:
                    return done
                cfgs = [c for _, c in missing]
                job = self.turns.job(
                    who,
                    on_wait,
                    cost=memory_cost(cfgs),
                    background=background,
                    estimate=cpu_seconds(cfgs, data_sizes(ds)),
                )
                with job:
                    return attempt(job.next_slice)


def _lock_wait(on_wait: Callable[[Place], None] | None) -> Callable[[], None] | None:
    """The store's lock poll: shows the visitor a sharing place (the runs train already,
    in another process), at once and then at most every LOCK_SHOW_S."""
    if on_wait is None:
        return None
    shown = [float("-inf")]

    def poll() -> None:
        now = time.monotonic()
        if now - shown[0] >= LOCK_SHOW_S:
            shown[0] = now
            on_wait(Place(1, 0, 1, None, True, sharing=True))

    return poll


SCHEDULER = Scheduler()  # this process's: every visitor's training and the warm-up's
