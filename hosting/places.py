"""Where a waiting job stands in the turns (turns.py): its position, the jobs waiting and
an estimated wait, for the visitor's waiting line.

A job that fits waits for the rest of the holder's slice and, for each job ahead of it,
what that job trails it by plus one of its slices. A job waiting for memory waits until
the jobs open or in line before it are done: the rest of each one's estimated seconds
(``Job.estimate``, from hosting/cost.py; at least one slice), since one slice runs at a
time; unknown while any of them has no estimate.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    """Where a waiting job stands."""

    position: int  # 1: the next to train
    waiting: int  # jobs waiting for a turn, this one included
    active: int  # jobs holding or waiting for a turn, this one included
    wait_s: float | None  # estimated seconds until its turn; None if not known yet
    admitted: bool  # False: waiting until running jobs free enough memory for it
    sharing: bool = False  # True: the same runs train already in another job (store.py)


def place(turns, job) -> Place:
    """``job``'s place in ``turns`` (called with the turns' lock held)."""
    fits = turns._fits(job)
    ahead = [j for j in turns._waiting if turns._order(j) < turns._order(job)]
    wait = _turn_wait(turns, job, ahead) if fits else _memory_wait(turns, job)
    active = len(turns._waiting) + (turns._holder is not None)
    return Place(len(ahead) + 1, len(turns._waiting), active, wait, fits)


def _turn_wait(turns, job, ahead) -> float | None:
    known = [j.slice_s for j in turns._jobs() if j.slice_s]
    if not known:
        return None
    mean = sum(known) / len(known)
    wait, h = 0.0, turns._holder
    if h is not None:
        ran = turns._clock() - h.started
        wait += max((h.slice_s or mean) - ran, job.used - h.used - ran, 0.0)
    return wait + sum(max(job.used - j.used, 0.0) + (j.slice_s or mean) for j in ahead)


def _memory_wait(turns, job) -> float | None:
    before = [j for j in turns._jobs() if j.admitted or _came_before(j, job)]
    if any(j.estimate is None for j in before):
        return None
    return sum(max(j.estimate - j.used, j.slice_s or 0.0) for j in before)


def _came_before(j, job) -> bool:
    return j is not job and (j.background, j.arrival) < (job.background, job.arrival)
