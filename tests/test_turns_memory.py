"""The memory budget of the turns (hosting/turns.py), driven by real threads on a fake
clock: jobs beyond the budget wait for admission, memory is admitted in order of arrival
(a big job waiting is let in before a later stream of small ones takes its memory), a
later job goes in beside what those before it need, and a wait for memory is estimated
from the open jobs' estimates."""

from __future__ import annotations

import threading

from turns_helpers import JOIN_S, Clock, Visitor, finish, queued, until

from hosting.turns import Place, Turns


def test_jobs_beyond_the_memory_budget_wait_for_admission_earlier_small_ones_go_on():
    # two big jobs do not fit together; a small one that came before big2 fits beside big1
    clock = Clock()
    turns, log = Turns(budget=100, clock=clock), []
    go = threading.Event()
    big1 = Visitor(turns, clock, log, "big1", 3, 1.0, go=go, mem=80)
    big1.start()
    until(lambda: turns.holder() == "big1")
    small = queued(turns, clock, log, ["small"], "small", 2, 1.0, mem=5)
    big2 = queued(turns, clock, log, ["small", "big2"], "big2", 2, 1.0, mem=80)
    place = big2.job.place()
    assert place.admitted is False and place.position == 2
    assert small.job.place().admitted is True
    finish(go, [big1, big2, small])
    # big2 starts only once big1 has ended, level with the jobs then running
    assert log[: log.index("big2")].count("big1") == 3
    assert log.count("big2") == 2 and log.count("small") == 2


def test_a_job_waiting_for_memory_is_admitted_before_later_smaller_jobs_take_it():
    # heavy arrives while "first" holds 30 of 100: it needs 80 and waits; a stream of 12
    # later jobs of 30 each would fit beside "first" (two or three at a time) and, let in,
    # would keep the memory heavy needs taken for as long as they keep coming
    clock = Clock()
    turns, log = Turns(budget=100, clock=clock), []
    go = threading.Event()
    first = Visitor(turns, clock, log, "first", 3, 1.0, go=go, mem=30)
    first.start()
    until(lambda: turns.holder() == "first")
    heavy = queued(turns, clock, log, ["heavy"], "heavy", 2, 1.0, mem=80)
    later = []
    for i in range(12):
        line = ["heavy", *(v.vname for v in later), f"s{i}"]
        later.append(queued(turns, clock, log, line, f"s{i}", 2, 1.0, mem=30))
    assert heavy.job.place().position == 1 and heavy.job.place().admitted is False
    assert not any(v.job.place().admitted for v in later)  # the memory is heavy's
    finish(go, [first, heavy, *later])
    assert log[:5] == ["first"] * 3 + ["heavy"] * 2  # heavy in as soon as first ends
    assert sorted(log[5:]) == sorted(f"s{i}" for i in range(12) for _ in range(2))


def test_a_later_job_fits_beside_what_the_jobs_waiting_before_it_need():
    # big waits for 80 of 100 while "first" holds 30; once first ends, big (80) and a
    # later job of 20 fit together: the later one is let in beside big, not after it
    clock = Clock()
    turns, log = Turns(budget=100, clock=clock), []
    go = threading.Event()
    first = Visitor(turns, clock, log, "first", 2, 1.0, go=go, mem=30)
    first.start()
    until(lambda: turns.holder() == "first")
    big = queued(turns, clock, log, ["big"], "big", 3, 1.0, mem=80)
    late = queued(turns, clock, log, ["big", "late"], "late", 2, 1.0, mem=20)
    assert late.job.place().admitted is False  # 30 + 80 + 20 > 100 while first is open
    finish(go, [first, big, late])
    assert log == ["first", "first", "big", "late", "big", "late", "big"]


def test_a_wait_for_memory_is_estimated_from_the_open_jobs_estimates():
    clock = Clock()
    turns = Turns(budget=100, clock=clock)
    a = turns.job("a", cost=80, estimate=10.0)
    a.__enter__()
    clock.t += 3.0
    a.pass_turn()  # nobody waits: a goes on, 3 s of its 10 used
    b = turns.job("b", poll=0.005, cost=80, estimate=5.0)
    t = threading.Thread(target=b.__enter__, daemon=True)
    t.start()
    until(lambda: turns.queue() == ["b"])
    assert b.place() == Place(position=1, waiting=1, active=2, wait_s=7.0, admitted=False)
    a.estimate = None  # a job of unknown size ahead: the wait is unknown
    assert b.place().wait_s is None
    a.leave()
    t.join(JOIN_S)
    assert b.holding()
    b.leave()
