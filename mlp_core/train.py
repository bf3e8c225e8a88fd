"""Train K stacked runs together: SGD through the planned engine (mlp_core.fast), the
lecture's maths, diagnostics on the side.

train_stack drives one stack.StackTrainer per process: this one, plus a worker process
(workers.py) for big stacks on a 2-core machine, each holding a contiguous group of the
runs. Between live-curve points it hands each stack the next steps, collects the curve,
reports progress and asks whether to stop; at the end each stack returns its runs'
outcomes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from . import workers as pool
from .config import RunConfig, validate
from .data import Dataset, make_splits
from .model import shape_key
from .run_rules import curve_from, curve_points, default_diag_every
from .stack import StackTrainer

# model-steps (runs x steps) from which a stack is split over 2 processes (a new worker
# takes seconds to start: it imports torch). It depends on the configs alone, never on
# whether a worker is running, so a run's numbers do not change from call to call.
PROCESS_MIN_WORK = 20_000
# the same for runs that evaluate the dev split only (TrainConfig.evaluation "dev", the init
# landscape's cells): their evaluation is about a fifth of a full run's rows, and a worker is kept
# once started, so a stack of a few thousand model-steps gains from the second core
PROCESS_MIN_WORK_DEV = 2_000
# processes a big stack is split over by default, this one included
PROCESSES = 2


class Diverged(Exception):
    """A run the caller needs diverged (its loss not finite, or above the bound): the
    CLI's exit 3."""


@dataclass
class RunOutcome:
    """One run's result: metrics (JSON-able) and its weights (no K dim)."""

    config: RunConfig
    status: str  # "ok", "diverged" or "stopped"
    metrics: dict
    state: dict[str, torch.Tensor]
    cached: bool = False  # True when read back from the run store
    cache_note: str | None = None  # why this result is not in the run store (a failed write)


@dataclass
class Progress:
    step: int  # steps done
    steps: int  # steps planned
    seconds: float
    train_loss: list[float]  # latest minibatch loss per run
    curve: dict = field(default_factory=dict)  # the curve so far: step, train, val per run
    run: int | None = None  # runs trained one after another (notebook): the one training
    runs: int = 1  # ... of this many; step and steps are then that run's own

    @property
    def fraction(self) -> float:
        """How much of this training is done, the runs trained before this one whole."""
        return ((self.run or 0) * self.steps + self.step) / (self.runs * self.steps)


ProgressFn = Callable[[Progress], bool | None]  # return True to stop


def stack_key(cfg: RunConfig) -> tuple:
    """Runs that share this key train together in one stack."""
    t = cfg.train
    return (
        cfg.data,
        shape_key(cfg.model),
        t.steps,
        t.batch_size,
        t.device,
        t.dtype,
        t.arithmetic,
        t.evaluation,
    )


def split(cfgs: list[RunConfig], n: int) -> list[list[RunConfig]]:
    """n contiguous groups of runs (fewer if there are fewer runs)."""
    size = -(-len(cfgs) // max(1, min(n, len(cfgs))))
    return [cfgs[i : i + size] for i in range(0, len(cfgs), size)]


def worker_count(cfgs: list[RunConfig], workers: int | None = None) -> int:
    """Processes a stack trains in: ``workers`` (at most one per run), or by default two
    for a stack of several runs and PROCESS_MIN_WORK model-steps or more on a machine with
    2+ cores (PROCESS_MIN_WORK_DEV for evaluation "dev"), else one."""
    if workers:
        return max(1, min(workers, len(cfgs)))
    t = cfgs[0].train
    least = PROCESS_MIN_WORK_DEV if t.evaluation == "dev" else PROCESS_MIN_WORK
    big = len(cfgs) * t.steps >= least
    return min(PROCESSES, len(cfgs), os.cpu_count() or 1) if big else 1


def warm_workers() -> None:
    """Start, in the background, the worker processes a big stack is split over by default
    (none on a 1-core machine), so that the first such stack finds them started; returns at
    once, never raises, does nothing once they are started (workers.warm_in_background).
    What trains where, and so every number, is train_stack's as without it."""
    pool.warm_in_background(min(PROCESSES, os.cpu_count() or 1) - 1)


def train_stack(
    cfgs: list[RunConfig],
    ds: Dataset,
    on_progress: ProgressFn | None = None,
    diag_every: int | None = None,
    hist_points: int = 5,
    threads: int | None = 1,
    workers: int | None = None,
    diagnostics: bool = True,
    on_slice: Callable[[int], int] | None = None,
) -> list[RunOutcome]:
    """Train runs that share a stack_key together; one RunOutcome per config, in order.
    ``on_slice(steps just run) -> steps of the next slice``: called between slices of
    the steps (turns.Job.next_slice: one server's visitors take turns, ARCHITECTURE.md
    "Sharing one server"); the numbers do not depend on where the steps are cut.
    ``threads``: torch threads per process. ``workers``: processes the stack is split
    over, this one included (default: 2 for stacks of PROCESS_MIN_WORK model-steps or
    more on a machine with 2+ cores, else 1). ``diagnostics=False``: no gradient norms
    and no diagnostics (metrics "diagnostics" None, "grad_norm_max" None), so that every
    step runs as fast.Step.apply; the numbers differ from a run with diagnostics only
    by float rounding."""
    assert len({stack_key(c) for c in cfgs}) == 1, "these runs cannot share one stack"
    if threads:
        torch.set_num_threads(threads)
    t0 = time.perf_counter()
    sp = make_splits(ds, cfgs[0].data.block_size)
    for c in cfgs:
        validate(c, len(sp.Ytr))
    if cfgs[0].train.arithmetic == "notebook":
        return _train_notebook(cfgs, ds, on_progress, t0, on_slice)
    steps = cfgs[0].train.steps
    every = diag_every or default_diag_every(steps)
    hist_every = every * max(1, steps // (every * hist_points))
    # runs with the same nonlinearity side by side: one op per kind, not an index shuffle
    order = sorted(range(len(cfgs)), key=lambda i: cfgs[i].model.activation)
    stack = [cfgs[i] for i in order]
    args = [
        (g, ds.vocab_size, sp, every, hist_every, diagnostics)
        for g in split(stack, worker_count(stack, workers))
    ]
    remotes = pool.acquire(len(args) - 1, StackTrainer, args[1:], threads or 1)
    try:  # without worker processes, the same groups train here, one after another
        parts = [pool.Local(StackTrainer(*a)) for a in args[: len(args) - len(remotes)]]
        if not pool.ready(remotes):  # a worker failed to start
            remotes = []
            parts += [pool.Local(StackTrainer(*a)) for a in args[len(parts) :]]
        parts += [pool.Revivable(r, StackTrainer, a) for r, a in zip(remotes, args[len(parts) :])]
        with torch.no_grad():
            ev = cfgs[0].train.evaluation
            plan = (max(1, steps // curve_points(ev)), curve_from(ev, steps))
            outcomes = _train(parts, order, steps, plan, on_progress, t0, on_slice)
    finally:
        pool.release(remotes)
    return _unsort(outcomes, order)


def _train_notebook(cfgs: list[RunConfig], ds: Dataset, on_progress, t0, on_slice=None) -> list:
    """Runs in the notebook's arithmetic (notebook.py): one after another, in this process;
    the live curve shows the run in training, Progress says which (its step and steps are
    that run's own)."""
    from .notebook import train_notebook

    out, steps, K = [], cfgs[0].train.steps, len(cfgs)
    for k, cfg in enumerate(cfgs):

        def report(done: int, seconds: float, curve: dict, k: int = k) -> bool | None:
            if on_progress is None:
                return None
            rows = {"step": curve["step"]} | {
                split: [[v if j == k else None for j in range(K)] for v in curve[split]]
                for split in ("train", "val")
            }
            last = [rows["train"][-1][j] for j in range(K)]
            seconds = time.perf_counter() - t0
            return on_progress(Progress(done, steps, seconds, last, rows, run=k, runs=K))

        status, metrics, state = train_notebook(cfg, ds, report, on_slice)
        out.append(RunOutcome(cfg, status, metrics, state))
        if status == "stopped":
            out += [RunOutcome(c, "stopped", _empty(c), {}) for c in cfgs[k + 1 :]]
            break
    return out


def _empty(cfg: RunConfig) -> dict:
    """The metrics of a run that never started (a stop before its turn)."""
    curve = {"step": [], "train": [], "val": []}
    return {
        "steps": 0,
        "status": "stopped",
        "diverged_at": None,
        "diverged_reason": None,
        "diverged_loss": None,
        "diverged_bound": None,
        "train_loss": None,
        "val_loss": None,
        "curve": curve,
        "params": [],
        "diagnostics": None,
    }


def _unsort(stacked: list, order: list[int]) -> list:
    """Items in stack order back in the callers' order."""
    out = [None] * len(order)
    for item, i in zip(stacked, order):
        out[i] = item
    return out


def _call_all(parts: list, name: str, *args) -> list:
    """Call a StackTrainer method on every part; the worker processes run theirs meanwhile."""
    for part in parts:
        part.send(name, *args)
    return [part.receive() for part in parts]


def _segment(parts: list, a: int, b: int, on_slice, ran: list[int]) -> list:
    """Steps a .. b-1 on every part, in slices of on_slice(steps just run) steps;
    ``ran`` carries the last slice's steps over from the previous call."""
    if on_slice is None:
        return _call_all(parts, "segment", a, b)
    while True:
        e = min(a + max(1, on_slice(ran[0])), b)
        status = _call_all(parts, "segment", a, e)
        ran[0], a = e - a, e
        if a >= b or max(d for d, _ in status) < e:  # done, or every run diverged
            return status


def _add_point(curve: dict, step: int, rows: list, order: list[int]) -> None:
    """One curve point at step from every part's (train, val) rows, in the callers' order."""
    curve["step"].append(step)
    curve["train"].append(_unsort([x for train, _ in rows for x in train], order))
    curve["val"].append(_unsort([x for _, val in rows for x in val], order))


def _train(parts: list, order: list[int], steps: int, plan: tuple, on_progress, t0, on_slice=None):
    """The steps in slices between curve points; plan = (steps between curve points, the
    first curve step: run_rules.curve_from); the stack's outcomes."""
    curve: dict = {"step": [], "train": [], "val": []}  # rows in the callers' order
    curve_every, first = plan
    stopped, done, ran = False, 0, [0]
    if first == 0:
        _add_point(curve, 0, _call_all(parts, "start_point"), order)
    for a in range(0, steps, curve_every):
        b = min(a + curve_every, steps)
        status = _segment(parts, a, b, on_slice, ran)
        done = max(d for d, _ in status)
        if done < b:  # every run diverged
            break
        if b >= first:
            _add_point(curve, b, _call_all(parts, "curve_point", b - 1), order)
        last = _unsort([x for _, losses in status for x in losses], order)
        if on_progress and on_progress(Progress(b, steps, time.perf_counter() - t0, last, curve)):
            stopped = True
            break
    seconds = time.perf_counter() - t0
    outcomes = _call_all(parts, "outcomes", done, stopped, seconds, len(order))
    return [RunOutcome(*o) for part in outcomes for o in part]
