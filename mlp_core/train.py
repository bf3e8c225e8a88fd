"""Train K stacked runs in one loop: SGD, hand-written backward, diagnostics on the side.

Each run has its own init, seed (init and minibatches), lr and decay step, so a run's
numbers do not depend on what it was stacked with. A run whose loss turns NaN/inf, or
exceeds DIVERGED_FACTOR x ln(vocab) (far worse than guessing uniformly), is frozen and
reported as diverged at that step; the others go on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .config import RunConfig, validate
from .data import Dataset, make_splits
from .diagnostics import Recorder, grad_norms, param_table
from .model import MLP, TORCH_DTYPES, cross_entropy, cross_entropy_backward, shape_key

EVAL_CHUNK = 8192  # rows per eval forward: chunks beat one big batch on this CPU (DESIGN §6)
CURVE_POINTS = 40  # points of the live loss curve
CURVE_VAL_ROWS = 4096  # dev rows behind each live val point (a sample: full splits are slow)
DIVERGED_FACTOR = 10.0  # a loss this many times the uniform baseline counts as diverged
GRAD_TRACK_EVERY = 10  # after the first 100 steps, gradient norms are sampled this often


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


@torch.inference_mode()
def evaluate(model: MLP, X: torch.Tensor, Y: torch.Tensor) -> list[float]:
    """Mean loss per run over all rows of (X, Y), eval mode, in chunks."""
    model.set_training(False)
    total = torch.zeros(model.K, dtype=torch.float64, device=X.device)
    for i in range(0, len(Y), EVAL_CHUNK):
        xb, yb = X[i : i + EVAL_CHUNK], Y[i : i + EVAL_CHUNK]
        logits = model(xb.expand(model.K, *xb.shape))
        total += cross_entropy(logits, yb.expand(model.K, -1)).double() * len(yb)
    model.set_training(True)
    return (total / len(Y)).tolist()


def _device(name: str) -> str:
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device cuda was asked for, but torch sees no CUDA device")
    return name


class _Loop:
    """State of one stacked training loop (kept apart so train_stack stays readable)."""

    def __init__(self, cfgs: list[RunConfig], ds: Dataset):
        c0 = cfgs[0]
        self.cfgs, self.K, self.steps = cfgs, len(cfgs), c0.train.steps
        self.dev = _device(c0.train.device)
        sp = make_splits(ds, c0.data.block_size)
        for c in cfgs:
            validate(c, len(sp.Ytr))
        self.Xtr, self.Ytr = sp.Xtr.to(self.dev), sp.Ytr.to(self.dev)
        self.Xdev, self.Ydev = sp.Xdev.to(self.dev), sp.Ydev.to(self.dev)
        self.model = MLP(
            [c.model for c in cfgs],
            ds.vocab_size,
            c0.data.block_size,
            [c.train.seed for c in cfgs],
            self.dev,
            c0.train.dtype,
        )
        self.params = self.model.parameters()
        self.init = {n: p.clone() for n, p in self.model.named_parameters()}
        self.gens = [torch.Generator().manual_seed(c.train.seed) for c in cfgs]
        dt = TORCH_DTYPES[c0.train.dtype]
        self.lr0 = torch.tensor([c.train.lr for c in cfgs], dtype=dt, device=self.dev)
        self.decay = torch.tensor([c.train.lr_decay_step or self.steps + 1 for c in cfgs])
        self.alive = torch.ones(self.K, dtype=torch.bool)
        self.diverged_above = DIVERGED_FACTOR * math.log(ds.vocab_size)
        self.diverged_at: list[int | None] = [None] * self.K
        self.losses = torch.full((self.steps, self.K), float("nan"))
        self.grad_max = torch.zeros(len(self.params), self.K, dtype=dt, device=self.dev)
        self.curve = {"step": [], "train": [], "val": []}
        self.val_rows = torch.randperm(len(self.Ydev), generator=torch.Generator().manual_seed(0))
        self.val_rows = self.val_rows[:CURVE_VAL_ROWS].to(self.dev)

    def lr(self, step: int) -> torch.Tensor:
        factor = torch.where(torch.tensor(step) >= self.decay, 0.1, 1.0).to(self.lr0)
        return self.lr0 * factor * self.alive.to(self.lr0)  # (K,)

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        B = self.cfgs[0].train.batch_size
        ix = torch.stack([torch.randint(0, len(self.Ytr), (B,), generator=g) for g in self.gens])
        ix = ix.to(self.dev)
        return self.Xtr[ix], self.Ytr[ix]  # (K, B, block_size), (K, B)

    def step(self, i: int, recorder: Recorder | None) -> torch.Tensor:
        Xb, Yb = self.batch()
        logits = self.model(Xb)
        loss = cross_entropy(logits, Yb)  # (K,)
        self.model.backward(cross_entropy_backward(logits, Yb))
        lr = self.lr(i)
        if i < 100 or i % GRAD_TRACK_EVERY == 0:
            norms = grad_norms(self.model).nan_to_num(0.0)
            torch.maximum(self.grad_max, norms, out=self.grad_max)
        if recorder is not None and recorder.due(i):
            recorder.capture(i, lr)
        lr3 = lr.view(-1, 1, 1)
        for p in self.params:
            p.sub_(p.grad * lr3)
        return loss

    def check(self, i: int, loss: torch.Tensor) -> None:
        loss = loss.cpu()
        bad = ~(torch.isfinite(loss) & (loss < self.diverged_above)) & self.alive
        for k in bad.nonzero().flatten().tolist():
            self.diverged_at[k] = i
        self.alive &= ~bad

    def add_curve_point(self, i: int) -> None:
        done = self.losses[max(0, i - max(self.steps // CURVE_POINTS, 1)) : i + 1]
        val = evaluate(self.model, self.Xdev[self.val_rows], self.Ydev[self.val_rows])
        self.curve["step"].append(i + 1)
        self.curve["train"].append(done.nanmean(0).tolist())
        self.curve["val"].append(val)


def train_stack(
    cfgs: list[RunConfig],
    ds: Dataset,
    on_progress: ProgressFn | None = None,
    diag_every: int | None = None,
    hist_points: int = 5,
    threads: int | None = 1,
) -> list[RunOutcome]:
    """Train runs that share a stack_key together; one RunOutcome per config, in order."""
    assert len({stack_key(c) for c in cfgs}) == 1, "these runs cannot share one stack"
    if threads:
        torch.set_num_threads(threads)
    t0 = time.perf_counter()
    loop = _Loop(cfgs, ds)
    every = diag_every or max(1, loop.steps // 50)
    recorder = Recorder(loop.model, every, every * max(1, loop.steps // (every * hist_points)))
    curve_every = max(1, loop.steps // CURVE_POINTS)
    stopped, done = False, 0
    with torch.no_grad():
        for i in range(loop.steps):
            loss = loop.step(i, recorder)
            loop.losses[i] = loss.cpu()
            loop.check(i, loss)
            done = i + 1
            if (i + 1) % curve_every == 0 or i + 1 == loop.steps:
                loop.add_curve_point(i)
                if on_progress and on_progress(
                    Progress(i + 1, loop.steps, time.perf_counter() - t0, loss.tolist(), loop.curve)
                ):
                    stopped = True
            if stopped or not loop.alive.any():
                break
    return _outcomes(loop, recorder, done, stopped, time.perf_counter() - t0)


def _outcomes(loop: _Loop, recorder: Recorder, done: int, stopped: bool, seconds: float):
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
            "stacked_with": loop.K,
            "curve": {
                "step": loop.curve["step"],
                "train": [row[k] for row in loop.curve["train"]],
                "val": [row[k] for row in loop.curve["val"]],
            },
            "params": param_table(loop.model, loop.init, loop.grad_max.cpu(), k),
            "diagnostics": recorder.result(k),
        }
        out.append(RunOutcome(cfg, status, metrics, loop.model.state_dict(k)))
    return out
