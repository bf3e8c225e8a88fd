"""Visitors taking turns (hosting/turns.py) as real threads on a fake clock, the same way
in every turns test: the holder advances the clock by its slice's cost, so orderings and
places are exact."""

from __future__ import annotations

import threading
import time

JOIN_S = 10  # a guard against a hang, not a timing assert


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class Visitor(threading.Thread):
    """Runs `slices` slices of `cost` fake seconds each, logging its name per slice. The
    first slice waits for `go` (so the test can line others up behind it)."""

    def __init__(
        self,
        turns,
        clock,
        log,
        name,
        slices,
        cost=1.0,
        go=None,
        on_wait=None,
        hold=None,
        mem=0,
        background=False,
    ):
        super().__init__(daemon=True)
        self.turns, self.clock, self.log = turns, clock, log
        self.vname, self.slices, self.cost, self.go = name, slices, cost, go
        self.hold = hold or {}  # slice index -> (reached, resume): pause before that slice
        self.job = turns.job(name, on_wait=on_wait, poll=0.005, cost=mem, background=background)
        self.error: BaseException | None = None

    def run(self):
        try:
            with self.job:
                for i in range(self.slices):
                    if i == 0 and self.go is not None:
                        self.go.wait(JOIN_S)
                    if i in self.hold:
                        self.hold[i][0].set()
                        self.hold[i][1].wait(JOIN_S)
                    self.log.append(self.vname)
                    self.clock.t += self.cost
                    if i < self.slices - 1:
                        self.job.pass_turn()
        except BaseException as e:  # noqa: BLE001 - the test reads it
            self.error = e


def until(cond):
    """Wait until cond() holds (threads line up); fails rather than hangs."""
    end = time.monotonic() + JOIN_S
    while not cond():
        assert time.monotonic() < end, "threads did not line up"
        time.sleep(0.001)


def line_up(turns, clock, log, specs):
    """Start visitors one by one, each queued before the next starts; the first holds the
    turn until the returned event is set."""
    go = threading.Event()
    vs = []
    for i, (name, slices, cost) in enumerate(specs):
        v = Visitor(turns, clock, log, name, slices, cost, go if i == 0 else None)
        v.start()
        vs.append(v)
        if i == 0:
            until(lambda n=name: turns.holder() == n)
        else:
            until(lambda n=name: n in turns.queue())
    return go, vs


def queued(turns, clock, log, queue, *args, **kwargs):
    """A Visitor(turns, clock, log, *args, **kwargs), started, once the waiting line reads
    ``queue`` (it has lined up)."""
    v = Visitor(turns, clock, log, *args, **kwargs)
    v.start()
    until(lambda: turns.queue() == queue)
    return v


def finish(go, vs):
    go.set()
    for v in vs:
        v.join(JOIN_S)
        assert not v.is_alive()
        assert v.error is None
