"""Fair turns: one training slice at a time per server process, shared between visitors.

A hosted server has one process for every visitor, and whole jobs first come, first
served would hold everyone behind one visitor's 8-run form at the caps for minutes. A job
(one visitor's submission) holds the turn for one *slice* (the engine's steps between two
live-curve points: train_stack calls on_progress there), then passes it to the waiting job
that has trained the fewest seconds so far. A job that arrives starts level with the
least-served active job, so it neither waits behind whole jobs nor runs ahead of everyone
for long: with n jobs active each gets about 1/n of the time, whatever the size of its
slices (a cheap slice is passed on quickly, a big one counts for more). This is fair
queueing by seconds used ("virtual time"); ARCHITECTURE.md "Sharing one server"
says why, and what the memory budget adds.

Memory: a job keeps its ``cost`` (bytes) while it is open, and the admitted jobs (those
that have had a turn) stay within ``budget`` together. Memory goes in order of arrival: a
job waiting for its first turn fits only if the admitted jobs' cost, plus what every job
that came before it and still waits for its first turn needs, plus its own cost, is within
the budget (a job with nothing admitted and nobody before it always fits). So a big job
that waits for memory is admitted as soon as the jobs open before it free enough, and no
stream of later, smaller jobs takes that memory first.

A *background* job (the server's warm-up of the default experiments, warm.py) comes
after every other job: it holds the turn only while no other job waits, and gives it up at
its next slice's end as soon as one does.

Each waiting job can read its place: position, jobs waiting and an estimated wait. A job
that ends for any reason (done, error, Stop, its visitor left) frees its place at once; a
newer job of the same visitor replaces an older one (the older raises Left at its next
turn point). Waiting polls every ``poll`` seconds and calls ``on_wait(place)``, so a
caller can show the place and raise (Streamlit's Stop or session end) to leave the queue.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

from .places import Place, place

__all__ = ["SLICE_S", "Job", "Left", "Place", "Turns"]

SLICE_S = 1.0  # seconds a slice aims at (its steps follow the job's measured speed)
SLICE_MEMORY = 0.5  # weight of the latest slice in a job's mean slice time and speed


class Left(Exception):
    """This job was replaced by a newer job of the same visitor."""


class Turns:
    """The turn of one server process (one slice at a time), shared fairly between jobs."""

    def __init__(self, budget: float = float("inf"), clock: Callable[[], float] = time.monotonic):
        """budget: the cost (bytes of memory a job keeps while it is open) that the
        admitted jobs may hold together; a job alone is always admitted."""
        self.budget = budget
        self._cond = threading.Condition()
        self._clock = clock
        self._holder: Job | None = None
        self._waiting: list[Job] = []
        self._seq = itertools.count()  # arrival order: ties between jobs go to the earlier

    def job(
        self,
        visitor: str,
        on_wait: Callable[[Place], None] | None = None,
        poll: float = 0.5,
        cost: float = 0.0,
        background: bool = False,
        estimate: float | None = None,
    ) -> Job:
        """A job of this visitor; use it as a context manager around the training.
        ``background``: it goes after every other job (see the module's docstring).
        ``estimate``: its seconds of training, if known (the waits for memory use it)."""
        job = Job(self, visitor, on_wait, poll, cost, background)
        job.estimate = estimate
        return job

    def promote(self, visitor: str) -> None:
        """This visitor's background jobs rank as any other job from now on, level with
        the least-served (someone waits for what they train: Reservations)."""
        with self._cond:
            for job in self._jobs():
                if job.visitor == visitor and job.background:
                    job.background = False
                    job.used = max(job.used, self._level())
            self._hand_over()

    def active(self) -> int:
        with self._cond:
            return len(self._waiting) + (self._holder is not None)

    def holder(self) -> str | None:
        """The visitor whose job trains now."""
        with self._cond:
            return self._holder.visitor if self._holder else None

    def queue(self) -> list[str]:
        """The waiting visitors, the next to train first."""
        with self._cond:
            return [j.visitor for j in sorted(self._waiting, key=self._order)]

    # the methods below run with self._cond held

    def _join(self, job: Job) -> None:
        for other in [self._holder, *self._waiting]:
            if other is not None and other.visitor == job.visitor:
                other.replaced = True
        job.used = self._level()
        job.arrival = job.seq = next(self._seq)
        self._waiting.append(job)
        self._hand_over()

    def _leave(self, job: Job) -> None:
        if self._holder is job:
            self._holder = None
        elif job in self._waiting:
            self._waiting.remove(job)
        self._hand_over()

    def _jobs(self) -> list[Job]:
        return [j for j in [self._holder, *self._waiting] if j is not None]

    def _level(self) -> float:
        """Where a job starting now begins: level with the least-served admitted job
        (background jobs apart: they rank after every other anyway)."""
        jobs = [j for j in self._jobs() if not j.background]
        admitted = [j.used for j in jobs if j.admitted]
        return min(admitted or [j.used for j in jobs] or [0.0])

    def _fits(self, job: Job) -> bool:
        """May this job hold a turn: admitted already, or its cost fits in the budget
        beside the admitted jobs' and what the jobs before it in line for memory need
        (``_before``); a job with none of either always fits."""
        if job.admitted:
            return True
        held = [j.cost for j in self._jobs() if j.admitted]
        ahead = [j.cost for j in self._waiting if _before(j, job)]
        return not (held or ahead) or sum(held) + sum(ahead) + job.cost <= self.budget

    def _order(self, job: Job) -> tuple[bool, bool, float, int]:
        return (not self._fits(job), *_rank(job))

    def _hand_over(self) -> None:
        """With no holder, the least-served waiting job that fits takes the turn."""
        fit = [j for j in self._waiting if self._fits(j)]
        for j in self._waiting:  # one waiting for memory keeps level: no catching up later
            if j not in fit:
                j.used = max(j.used, self._level())
        if self._holder is None and fit:
            nxt = min(fit, key=_rank)
            self._waiting.remove(nxt)
            nxt.admitted = True
            self._holder, nxt.started = nxt, self._clock()
            nxt.seq = next(self._seq)  # on a tie, the jobs it waited behind go first
        self._cond.notify_all()

    def _place(self, job: Job) -> Place:
        return place(self, job)


def _rank(job: Job) -> tuple[bool, float, int]:
    return (job.background, job.used, job.seq)


def _before(job: Job, other: Job) -> bool:
    """``job`` waits for its first turn and came before ``other`` (background jobs after
    every other): the memory it needs is kept for it, out of ``other``'s reach."""
    if job is other or job.admitted:
        return False
    return (job.background, job.arrival) < (other.background, other.arrival)


class Job:
    """One visitor's training, taking turns. ``with job:`` waits for the first turn and
    frees the place on the way out, however the block ends."""

    def __init__(
        self, turns: Turns, visitor: str, on_wait, poll: float, cost: float, background: bool
    ):
        self.turns, self.visitor, self.on_wait, self.poll = turns, visitor, on_wait, poll
        self.cost = cost  # memory it keeps while open (bytes): see Turns.budget
        self.background = background  # after every other job (the warm-up)
        self.admitted = False  # has had a turn: its memory counts against the budget
        self.used = 0.0  # seconds of turns used, counted from its start level
        self.seq = 0
        self.arrival = 0  # when it joined: memory is admitted in this order (_before)
        self.started = 0.0  # when its current turn began
        self.slice_s: float | None = None  # mean seconds of its slices
        self.estimate: float | None = None  # seconds of training it needs, if known
        self.replaced = False
        self.slices = 0  # turns passed (slices done)
        self.rate: float | None = None  # mean steps per second of its slices
        self._shown = float("-inf")  # when on_wait was last called

    def __enter__(self) -> Job:
        with self.turns._cond:
            self.turns._join(self)
        try:
            self._wait()
        except BaseException:
            self.leave()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.leave()

    def leave(self) -> None:
        """Free this job's place (or the turn) now."""
        with self.turns._cond:
            self.turns._leave(self)

    def holding(self) -> bool:
        with self.turns._cond:
            return self.turns._holder is self

    def place(self) -> Place | None:
        """Where this job waits; None while it holds the turn."""
        with self.turns._cond:
            return None if self.turns._holder is self else self.turns._place(self)

    def next_slice(self, steps: int) -> int:
        """The engine's hook between slices (train_stack's on_slice): ``steps`` were just
        run (0 before the first slice). Passes the turn, then says how many steps the next
        slice runs: about SLICE_S seconds at this job's measured speed."""
        if steps:
            rate = steps / max(self.pass_turn(), 1e-6)
            self.rate = rate if self.rate is None else _mean(self.rate, rate)
        return max(1, int(SLICE_S * self.rate)) if self.rate else 1

    def pass_turn(self) -> float:
        """End of a slice: count its time; if a waiting job has trained less, it takes the
        turn and this job waits for its next one (else this job goes on at once). Returns
        the slice's seconds."""
        t = self.turns
        with t._cond:
            if t._holder is not self:
                raise RuntimeError("pass_turn outside this job's turn")
            ran = t._clock() - self.started
            self.used += ran
            self.slice_s = ran if self.slice_s is None else _mean(self.slice_s, ran)
            self.slices += 1
            if not self.replaced and not any(
                _rank(j) < _rank(self) for j in t._waiting if t._fits(j)
            ):
                self.started = t._clock()
                return ran
            t._holder = None
            t._waiting.append(self)
            t._hand_over()
        self._wait()
        return ran

    def _wait(self) -> None:
        """Block until this job holds the turn, calling on_wait with its place each poll."""
        t = self.turns
        while True:
            with t._cond:
                if self.replaced:
                    raise Left(f"a newer job of {self.visitor} replaced this one")
                if t._holder is self:
                    return
                t._cond.wait(self.poll)
                if t._holder is self and not self.replaced:
                    return
                place = t._place(self)
            now = time.monotonic()  # real time: on_wait draws at most once per poll
            if self.on_wait and now - self._shown >= self.poll:
                self._shown = now
                self.on_wait(place)  # outside the lock: it may draw, or raise to leave


def _mean(old: float, new: float) -> float:
    return (1 - SLICE_MEMORY) * old + SLICE_MEMORY * new
