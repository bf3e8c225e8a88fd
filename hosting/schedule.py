"""The scheduler the app hands to ``mlp_core.store.get_or_train``: a caller's missing runs
are claimed (claims.py: the same runs never train twice at once), then trained in fair
turns with every other caller in this process (turns.py), within a memory budget.

The core calls ``scheduler.run(missing, prefetch, attempt, **schedule)``: ``prefetch()``
reads the store again after a wait for claimed runs (their results, or None), and
``attempt(on_slice)`` trains what is still missing, calling ``on_slice`` between slices.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from mlp_core.config import RunConfig

from .claims import Claims
from .cost import cpu_seconds
from .turns import Place, Turns

# the trainings open at once keep their step buffers: beyond this budget a training waits
# for one to end (a small one still starts): the demo's largest (8 runs of 6 x 200,
# batch 1,024) keeps ~250 MB, so two of them never hold memory together
TRAIN_MEMORY_MB = 400
STACK_BYTES = 26  # bytes a stack keeps per run x batch row x hidden unit (measured)


def memory_cost(cfgs: list[RunConfig]) -> float:
    """Bytes a training of these runs keeps while it is open (each stack's planned step
    buffers: ~STACK_BYTES per run x batch row x hidden unit; ARCHITECTURE.md "Sharing one
    server")."""
    return sum(
        STACK_BYTES * c.train.batch_size * (c.model.n_hidden * c.model.n_layers + 100) for c in cfgs
    )


class Scheduler:
    """Claims, then fair turns (module docstring)."""

    def __init__(self, turns: Turns | None = None):
        self.turns = turns or Turns(budget=TRAIN_MEMORY_MB * 1e6)
        self.claims = Claims(self.turns)

    def run(
        self,
        missing: list[tuple[str, RunConfig]],
        prefetch: Callable[[], list | None],
        attempt: Callable[[Callable[[int], int]], list],
        on_wait: Callable[[Place], None] | None = None,
        visitor: str | None = None,
        background: bool = False,
    ) -> list:
        """``missing``: (run key, config) of the runs to train. ``visitor``: who asks
        (default: this thread); a newer request of the same visitor replaces an older one
        still waiting. ``background``: after every other job (warm.py). ``on_wait(place)``
        is called while this visitor waits (it may raise to leave the queue)."""
        who = visitor or f"thread-{threading.get_ident()}"
        with self.claims.claim({k for k, _ in missing}, who, on_wait, background):
            done = prefetch()
            if done is not None:
                return done
            cfgs = [c for _, c in missing]
            job = self.turns.job(
                who,
                on_wait,
                cost=memory_cost(cfgs),
                background=background,
                estimate=cpu_seconds(cfgs),
            )
            with job:
                return attempt(job.next_slice)


SCHEDULER = Scheduler()  # this process's: every visitor's training and the warm-up's
