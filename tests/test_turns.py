"""Fair turns between visitors (hosting/turns.py), driven by real threads on a fake clock:
round-robin slices by seconds used, places and wait estimates, a Stop or a failure that
frees the turn, and the warm-up's background job that yields to every visitor. The
memory budget's admission is in tests/test_turns_memory.py."""

from __future__ import annotations

import threading

import pytest
from turns_helpers import JOIN_S, Clock, Visitor, finish, line_up, queued, until

from hosting.turns import SLICE_S, Left, Place, Turns


def test_a_lone_job_never_waits():
    clock, log = Clock(), []
    turns = Turns(clock=clock)
    v = Visitor(turns, clock, log, "a", 5)
    v.start()
    v.join(JOIN_S)
    assert log == ["a"] * 5 and v.error is None
    assert turns.active() == 0


def test_slices_go_round_robin_not_whole_jobs_first_come_first_served():
    clock = Clock()
    turns, log = Turns(clock=clock), []
    go, vs = line_up(turns, clock, log, [("a", 3, 1.0), ("b", 3, 1.0), ("c", 3, 1.0)])
    finish(go, vs)
    assert log == ["a", "b", "c"] * 3


def test_a_cheap_job_gets_its_share_of_seconds_not_of_slices():
    # heavy slices cost 10 s, light ones 1 s: the light job runs until it has used as
    # many seconds as the heavy one, then they alternate by time
    clock = Clock()
    turns, log = Turns(clock=clock), []
    go, vs = line_up(turns, clock, log, [("heavy", 3, 10.0), ("light", 25, 1.0)])
    finish(go, vs)
    assert log[:12] == ["heavy"] + ["light"] * 10 + ["heavy"]
    assert log[12:23] == ["light"] * 10 + ["heavy"]
    assert log.count("light") == 25 and log.count("heavy") == 3


def test_a_newcomer_starts_level_with_the_least_served_job():
    # a has trained 5 s alone when b arrives: b neither waits for the rest of a's job
    # (first come, first served) nor runs 5 s of catching up (a fresh count of 0)
    clock = Clock()
    turns, log = Turns(clock=clock), []
    reached, resume = threading.Event(), threading.Event()
    a = Visitor(turns, clock, log, "a", 8, 1.0, hold={5: (reached, resume)})
    a.start()
    assert reached.wait(JOIN_S)
    b = queued(turns, clock, log, ["b"], "b", 3, 1.0)
    finish(resume, [a, b])
    assert log == ["a"] * 6 + ["b", "a", "b", "a", "b"]


def test_places_and_estimates_of_waiting_jobs():
    clock = Clock()
    turns, log = Turns(clock=clock), []
    go, vs = line_up(
        turns, clock, log, [("a", 2, 4.0), ("b", 1, 1.0), ("c", 1, 1.0), ("d", 1, 1.0)]
    )
    a, b, c, d = (v.job for v in vs)
    assert a.place() is None  # holding
    assert b.place().position == 1 and c.place().position == 2 and d.place().position == 3
    assert d.place() == Place(
        position=3, waiting=3, active=4, wait_s=None, admitted=True
    )  # nothing timed
    finish(go, vs)
    assert log == ["a", "b", "c", "d", "a"]


def test_the_estimate_counts_the_holders_rest_and_one_slice_per_job_ahead():
    clock = Clock()
    turns = Turns(clock=clock)
    a = turns.job("a")
    a.__enter__()
    clock.t += 3.0
    a.pass_turn()  # nobody waits: a goes on, its slice time is now known (3 s)
    clock.t += 1.0  # a is 1 s into its 2nd slice
    b = turns.job("b", poll=0.005)
    t = threading.Thread(target=b.__enter__, daemon=True)
    t.start()
    until(lambda: turns.queue() == ["b"])
    # b joined level with a (3 s used): it waits for the rest of a's slice, 2 s
    assert b.place() == Place(position=1, waiting=1, active=2, wait_s=2.0, admitted=True)
    clock.t += 2.0
    threading.Thread(target=a.pass_turn, daemon=True).start()
    t.join(JOIN_S)
    assert b.holding() and a.place().position == 1
    b.leave()
    until(lambda: a.holding())
    a.leave()
    assert turns.active() == 0


def test_stop_while_waiting_frees_the_place_at_once():
    clock = Clock()
    turns, log = Turns(clock=clock), []
    stop = threading.Event()

    class Stop(Exception):
        pass

    def on_wait(place):
        if stop.is_set():
            raise Stop

    go, vs = line_up(turns, clock, log, [("a", 2, 1.0)])
    b = queued(turns, clock, log, ["b"], "b", 2, 1.0, on_wait=on_wait)
    c = queued(turns, clock, log, ["b", "c"], "c", 1, 1.0)
    assert c.job.place().position == 2
    stop.set()  # b presses Stop (or leaves) while a still holds the turn
    b.join(JOIN_S)
    assert isinstance(b.error, Stop)
    assert turns.queue() == ["c"] and c.job.place().position == 1  # before a passes
    finish(go, vs + [c])
    assert log == ["a", "c", "a"]


def test_a_holder_that_fails_hands_the_turn_on():
    clock = Clock()
    turns = Turns(clock=clock)
    a, b = turns.job("a"), turns.job("b", poll=0.005)
    got = []

    def waiter():
        with b:
            got.append(turns.holder())

    with pytest.raises(ZeroDivisionError), a:
        t = threading.Thread(target=waiter, daemon=True)
        t.start()
        until(lambda: turns.queue() == ["b"])
        raise ZeroDivisionError
    t.join(JOIN_S)
    assert got == ["b"] and turns.active() == 0


def test_a_newer_job_of_the_same_visitor_replaces_the_older():
    clock = Clock()
    turns, log = Turns(clock=clock), []
    go, vs = line_up(turns, clock, log, [("a", 2, 1.0), ("b", 1, 1.0)])
    newer = Visitor(turns, clock, log, "b", 1, 1.0)
    newer.start()
    vs[1].join(JOIN_S)
    assert isinstance(vs[1].error, Left)
    until(lambda: turns.queue() == ["b"])
    go.set()
    for v in (vs[0], newer):
        v.join(JOIN_S)
        assert v.error is None
    assert log == ["a", "b", "a"]


def test_next_slice_passes_the_turn_and_sizes_slices_by_the_jobs_speed():
    clock = Clock()
    turns = Turns(clock=clock)
    with turns.job("a") as job:
        assert job.next_slice(0) == 1  # before any slice: one step, to measure
        assert job.slices == 0
        clock.t += 0.5  # that step took 0.5 s: 2 steps/s
        assert job.next_slice(1) == int(SLICE_S * 2)
        clock.t += 0.1  # 10 steps/s now: the speed is a running mean of the two
        assert job.next_slice(1) == int(SLICE_S * (0.5 * 2 + 0.5 * 10))
        assert job.slices == 2


def test_a_background_job_yields_to_every_other_and_trains_when_none_waits():
    """The warm-up (store.warm_up) holds the turn only while nobody else waits: a visitor
    who arrives during its slice trains all its slices first, however much the warm-up
    has trained (fair queueing would alternate); then the warm-up goes on."""
    clock = Clock()
    turns, log = Turns(clock=clock), []
    reached, resume = threading.Event(), threading.Event()
    w = Visitor(turns, clock, log, "warm", 6, 1.0, hold={2: (reached, resume)}, background=True)
    w.start()
    assert reached.wait(JOIN_S)
    a = Visitor(turns, clock, log, "a", 3, 5.0)
    b = Visitor(turns, clock, log, "b", 2, 5.0)
    a.start()
    b.start()
    until(lambda: sorted(turns.queue()) == ["a", "b"])
    finish(resume, [w, a, b])
    assert log[:3] == ["warm"] * 3  # its slice in progress ends first
    assert log[3:8] == ["a", "b", "a", "b", "a"]  # the visitors share turns as usual
    assert log[8:] == ["warm"] * 3


def test_a_newcomer_starts_level_with_visitors_not_with_the_background_job():
    clock = Clock()
    turns, log = Turns(clock=clock), []
    go, vs = line_up(turns, clock, log, [("a", 4, 1.0)])
    w = queued(turns, clock, log, ["warm"], "warm", 2, 1.0, background=True)
    b = queued(turns, clock, log, ["b", "warm"], "b", 2, 1.0)
    finish(go, [*vs, w, b])
    assert log == ["a", "b", "a", "b", "a", "a", "warm", "warm"]


def test_a_promoted_background_job_takes_turns_like_any_other():
    """Reservations promotes the warm-up when a visitor waits for its runs: from then on it
    shares the turns with the visitor training now, instead of waiting for its end."""
    clock = Clock()
    turns, log = Turns(clock=clock), []
    go, vs = line_up(turns, clock, log, [("a", 4, 1.0)])
    w = queued(turns, clock, log, ["warm"], "warm", 2, 1.0, background=True)
    turns.promote("warm")
    finish(go, [*vs, w])
    assert log == ["a", "warm", "a", "warm", "a", "a"]
