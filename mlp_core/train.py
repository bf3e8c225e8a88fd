"""Train K stacked runs in one loop: SGD, hand-written backward, diagnostics on the side.

Each run has its own init, seed (init and minibatches), lr and decay step, so a run's
numbers do not depend on what it was stacked with. A run whose loss turns NaN/inf, or
exceeds DIVERGED_FACTOR x ln(vocab) (far worse than guessing uniformly), is frozen and
reported as diverged at that step; the others go on.

Speed (DESIGN §6, README "Speed"): the step is engine.Step (a planned list of ``out=`` ops
over preallocated buffers); minibatch indices are drawn CHUNK_STEPS at a time from each
run's own generator (the same numbers as one draw per step); losses stay in a history and
divergence is checked once per chunk, still naming the exact first bad step. A stack of
K >= 2 runs can be split over ``workers`` threads, one core each.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from . import workers as pool
from .config import RunConfig, validate
from .data import Dataset, Splits, make_splits
from .diagnostics import Recorder, param_table
from .engine import Step, evaluate, target_grads
from .model import MLP, TORCH_DTYPES, shape_key

EVAL_CHUNK = 8192  # rows per forward where a caller evaluates with plain model calls
CURVE_POINTS = 40  # points of the live loss curve
CURVE_VAL_ROWS = 4096  # dev rows behind each live val point (a sample: full splits are slow)
DIVERGED_FACTOR = 10.0  # a loss this many times the uniform baseline counts as diverged
GRAD_TRACK_EVERY = 10  # after the first 100 steps, gradient norms are sampled this often
CHUNK_STEPS = 200  # minibatches drawn at once; divergence is checked at this pace
# model-steps (runs x steps) from which a stack is split over 2 processes (a new worker
# takes ~2 s to start: it imports torch). It depends on the configs alone, never on
# whether a worker is running, so a run's numbers do not change from call to call.
PROCESS_MIN_WORK = 20_000


class DivergedError(RuntimeError):
    """Every run in the stack diverged (loss NaN or inf)."""


@dataclass
class Progress:
    step: int  # steps done
    steps: int  # steps planned
    seconds: float
    train_loss: list[float]  # latest minibatch loss per run
    curve: dict = field(default_factory=dict)  # the curve so far: step, train, val per run


@dataclass
class RunOutcome:
    """One run's result: metrics (JSON-able) and its weights (no K dim)."""

    config: RunConfig
    status: str  # "ok", "diverged" or "stopped"
    metrics: dict
    state: dict[str, torch.Tensor]
    cached: bool = False  # True when read back from the run store


ProgressFn = Callable[[Progress], bool | None]  # return True to stop


def stack_key(cfg: RunConfig) -> tuple:
    """Runs that share this key train together in one stack."""
    t = cfg.train
    return (cfg.data, shape_key(cfg.model), t.steps, t.batch_size, t.device, t.dtype)


def _device(name: str) -> str:
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device cuda was asked for, but torch sees no CUDA device")
    return name


class _Loop:
    """State of one stacked training loop (kept apart so train_stack stays readable)."""

    def __init__(self, cfgs: list[RunConfig], vocab_size: int, sp: Splits, every: int, hist: int):
        c0 = cfgs[0]
        self.cfgs, self.K, self.steps = cfgs, len(cfgs), c0.train.steps
        self.B, self.dev = c0.train.batch_size, _device(c0.train.device)
        self.Xtr, self.Ytr = sp.Xtr.to(self.dev), sp.Ytr.to(self.dev)
        self.Xdev, self.Ydev = sp.Xdev.to(self.dev), sp.Ydev.to(self.dev)
        self.model = MLP(
            [c.model for c in cfgs],
            vocab_size,
            c0.data.block_size,
            [c.train.seed for c in cfgs],
            self.dev,
            c0.train.dtype,
        )
        self.init = {n: p.clone() for n, p in self.model.named_parameters()}
        self.step = Step(self.model, self.B)
        self.V = vocab_size
        self.offsets = torch.arange(self.K, device=self.dev).view(-1, 1, 1, 1) * self.V
        self.gens = [torch.Generator().manual_seed(c.train.seed) for c in cfgs]
        self.dtype = dt = TORCH_DTYPES[c0.train.dtype]
        self.decay = [c.train.lr_decay_step or self.steps + 1 for c in cfgs]
        self.lr_changes = {d for d in self.decay if d < self.steps}
        self.alive = torch.ones(self.K, dtype=torch.bool)
        self.diverged_above = DIVERGED_FACTOR * math.log(vocab_size)
        self.diverged_at: list[int | None] = [None] * self.K
        self.losses = torch.full((self.steps, self.K), float("nan"), dtype=dt, device=self.dev)
        self.grad_max = torch.zeros(len(self.init), self.K, dtype=dt, device=self.dev)
        self.curve = {"step": [], "train": [], "val": []}
        val_rows = torch.randperm(len(self.Ydev), generator=torch.Generator().manual_seed(0))
        val_rows = val_rows[:CURVE_VAL_ROWS].to(self.dev)
        self.Xval, self.Yval = self.Xdev[val_rows], self.Ydev[val_rows]
        self.recorder = Recorder(self.model, every, hist)
        self.set_lr(0)

    def set_lr(self, step: int) -> None:
        """Each run's lr from this step on: lr, a tenth of it after the decay step (in
        Python floats, as the lecture computes it), 0 once the run has diverged."""
        lrs = [c.train.lr / (10 if step >= d else 1) for c, d in zip(self.cfgs, self.decay)]
        self.lr = torch.tensor(lrs, dtype=self.dtype) * self.alive  # (K,)
        self.step.set_lr(self.lr)

    def batches(self, n: int) -> list[tuple[torch.Tensor, ...]]:
        """The next n minibatches, one (X, Y, G) per step: the contexts of all runs offset
        by k * vocab_size and flattened (K*B*block_size,), the targets (K, B, 1) and their
        target_grads (K, B, vocab_size)."""
        ix = torch.stack(
            [torch.randint(0, len(self.Ytr), (n, self.B), generator=g) for g in self.gens]
        ).to(self.dev)  # (K, n, B)
        X = (self.Xtr[ix] + self.offsets).transpose(0, 1).reshape(n, -1)
        Y = self.Ytr[ix].transpose(0, 1)  # (n, K, B)
        G = target_grads(Y, self.V, self.dtype)
        return list(zip(X.unbind(0), Y.unsqueeze(-1).unbind(0), G.unbind(0)))

    def segment(self, a: int, b: int) -> tuple[int, list[float]]:
        """Steps a .. b-1; returns the steps that count as done and the last losses."""
        self.run(a, b)
        return self.last_step(b), self.losses[b - 1].tolist()

    def run(self, a: int, b: int) -> None:
        """Steps a .. b-1, a chunk of minibatches at a time; stops early once every run
        has diverged."""
        while a < b and self.alive.any():
            n = min(CHUNK_STEPS, b - a)
            logp_Y = self.losses.new_empty(n, self.K, self.B, 1)
            for j, batch in enumerate(self.batches(n)):
                self.one_step(a + j, batch, logp_Y[j])
            torch.mean(logp_Y, (2, 3), out=self.losses[a : a + n]).neg_()
            self.check(a, a + n)
            a += n

    def one_step(self, i: int, batch: tuple, logp_Y: torch.Tensor) -> None:
        self.step(*batch, logp_Y)
        if i < 100 or i % GRAD_TRACK_EVERY == 0:
            norms = self.step.grad_norms().nan_to_num_(0.0)
            torch.maximum(self.grad_max, norms, out=self.grad_max)
        if self.recorder.due(i):
            self.step.bind()
            self.recorder.capture(i, self.lr)
        self.step.update()
        if i + 1 in self.lr_changes:
            self.set_lr(i + 1)

    def check(self, a: int, b: int) -> None:
        """Freeze the runs whose loss went bad in steps a .. b-1, noting the first bad step."""
        loss = self.losses[a:b].cpu()
        bad = ~(torch.isfinite(loss) & (loss < self.diverged_above)) & self.alive
        for k in bad.any(0).nonzero().flatten().tolist():
            self.diverged_at[k] = a + int(bad[:, k].nonzero()[0])
        if bad.any():
            self.alive &= ~bad.any(0)
            self.set_lr(b)

    def outcomes(self, done: int, stopped: bool, seconds: float, K: int) -> list[RunOutcome]:
        return _outcomes(self, done, stopped, seconds, K)

    def last_step(self, planned: int) -> int:
        """Steps that count as done: all of them, or up to the last divergence."""
        if self.alive.any():
            return planned
        return max(d for d in self.diverged_at if d is not None) + 1

    def curve_point(self, i: int) -> tuple[list[float], list[float]]:
        """The live curve after step i: mean train loss since the last point, val loss on
        the dev sample; returns both rows."""
        done = self.losses[max(0, i - max(self.steps // CURVE_POINTS, 1)) : i + 1]
        self.curve["step"].append(i + 1)
        self.curve["train"].append(done.nanmean(0).tolist())
        self.curve["val"].append(evaluate(self.model, self.Xval, self.Yval))
        return self.curve["train"][-1], self.curve["val"][-1]


_SPLITS: dict[tuple[str, int], Splits] = {}  # the last few data sets' (~0.5 s each to build)


def _splits(ds: Dataset, block_size: int) -> Splits:
    key = (ds.sha256, block_size)
    if key not in _SPLITS:
        if len(_SPLITS) >= 4:
            _SPLITS.pop(next(iter(_SPLITS)))
        _SPLITS[key] = make_splits(ds, block_size)
    return _SPLITS[key]


def _split(cfgs: list[RunConfig], n: int) -> list[list[RunConfig]]:
    """n contiguous groups of runs (fewer if there are fewer runs)."""
    size = -(-len(cfgs) // max(1, min(n, len(cfgs))))
    return [cfgs[i : i + size] for i in range(0, len(cfgs), size)]


def _worker_count(cfgs: list[RunConfig], workers: int | None) -> int:
    if workers:
        return max(1, min(workers, len(cfgs)))
    big = len(cfgs) * cfgs[0].train.steps >= PROCESS_MIN_WORK
    return min(2, len(cfgs), os.cpu_count() or 1) if big else 1


def train_stack(
    cfgs: list[RunConfig],
    ds: Dataset,
    on_progress: ProgressFn | None = None,
    diag_every: int | None = None,
    hist_points: int = 5,
    threads: int | None = 1,
    workers: int | None = None,
) -> list[RunOutcome]:
    """Train runs that share a stack_key together; one RunOutcome per config, in order.
    ``threads``: torch threads per process. ``workers``: processes the stack is split
    over, this one included (default: 2 for stacks of PROCESS_MIN_WORK model-steps or
    more on a machine with 2+ cores, else 1)."""
    assert len({stack_key(c) for c in cfgs}) == 1, "these runs cannot share one stack"
    if threads:
        torch.set_num_threads(threads)
    t0 = time.perf_counter()
    sp = _splits(ds, cfgs[0].data.block_size)
    for c in cfgs:
        validate(c, len(sp.Ytr))
    steps = cfgs[0].train.steps
    every = diag_every or max(1, steps // 50)
    hist_every = every * max(1, steps // (every * hist_points))
    args = [
        (g, ds.vocab_size, sp, every, hist_every)
        for g in _split(cfgs, _worker_count(cfgs, workers))
    ]
    remotes = pool.acquire(len(args) - 1, _Loop, args[1:], threads or 1)
    try:  # without worker processes, the same groups train here, one after another
        local = args[: len(args) - len(remotes)]
        parts = [pool.Local(_Loop(*a)) for a in local] + remotes
        for remote in remotes:
            remote.receive()  # its _Loop is built (while ours was)
        with torch.no_grad():
            return _train(parts, len(cfgs), steps, on_progress, t0)
    finally:
        pool.release(remotes)


def _call_all(parts: list, name: str, *args) -> list:
    """Call a _Loop method on every part; the worker processes run theirs meanwhile."""
    for part in parts:
        part.send(name, *args)
    return [part.receive() for part in parts]


def _train(parts: list, K: int, steps: int, on_progress: ProgressFn | None, t0: float):
    curve: dict = {"step": [], "train": [], "val": []}
    curve_every = max(1, steps // CURVE_POINTS)
    stopped, done = False, 0
    for a in range(0, steps, curve_every):
        b = min(a + curve_every, steps)
        status = _call_all(parts, "segment", a, b)
        done = max(d for d, _ in status)
        if done < b:  # every run diverged
            break
        rows = _call_all(parts, "curve_point", b - 1)
        curve["step"].append(b)
        curve["train"].append([x for train, _ in rows for x in train])
        curve["val"].append([x for _, val in rows for x in val])
        last = [x for _, losses in status for x in losses]
        if on_progress and on_progress(Progress(b, steps, time.perf_counter() - t0, last, curve)):
            stopped = True
            break
    seconds = time.perf_counter() - t0
    outcomes = _call_all(parts, "outcomes", done, stopped, seconds, K)
    return [o for part in outcomes for o in part]


def _outcomes(loop: _Loop, done: int, stopped: bool, seconds: float, K: int) -> list[RunOutcome]:
    sp_tr = evaluate(loop.model, loop.Xtr, loop.Ytr)
    sp_val = evaluate(loop.model, loop.Xdev, loop.Ydev)
    out = []
    for k, cfg in enumerate(loop.cfgs):
        status = "diverged" if loop.diverged_at[k] is not None else "stopped" if stopped else "ok"
        metrics = {
            "steps": done,
            "status": status,
            "diverged_at": loop.diverged_at[k],
            "train_loss": sp_tr[k],
            "val_loss": sp_val[k],
            "seconds": seconds,
            "steps_per_second": done / seconds if seconds else None,
            "stacked_with": K,
            "curve": {
                "step": loop.curve["step"],
                "train": [row[k] for row in loop.curve["train"]],
                "val": [row[k] for row in loop.curve["val"]],
            },
            "params": param_table(loop.model, loop.init, loop.grad_max.cpu(), k),
            "diagnostics": loop.recorder.result(k),
        }
        out.append(RunOutcome(cfg, status, metrics, loop.model.state_dict(k)))
    return out
