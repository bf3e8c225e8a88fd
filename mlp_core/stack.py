"""One stack of runs training in one process: minibatches, steps, the lr schedule,
divergence, the live curve, and each run's outcome.

Each run has its own init, seed (init and minibatches), lr and decay step, so a run's
numbers do not depend on what it is stacked with. A run whose minibatch loss turns NaN/inf,
or reaches DIVERGED_FACTOR x ln(vocab) (far worse than guessing uniformly), is diverged at
that step: its lr is 0 from that step on, and it reports the state that measured that loss
(its parameters before the step's update, its BatchNorm running statistics after the
step's forward, where the notebook arithmetic stops); the others go on.

Speed (ARCHITECTURE.md "The fast path"): the step is fast.Step (a planned list of
``out=`` ops over preallocated buffers); minibatch indices are drawn CHUNK_STEPS at a time from each
run's own generator (the same numbers as one draw per step); losses stay in a history and
divergence is checked once per chunk. A chunk in which a run diverged runs again from its
start (its state is saved at the start of every chunk), that run's lr 0 from its bad step
on: every number is the same wherever chunks and slices end, as if checked at every step.
"""

from __future__ import annotations

import math

import torch

from .config import ConfigError, RunConfig
from .data import Splits
from .diagnostics import Recorder, param_table
from .fast.denormals import denormals_flushed
from .fast.evaluate import distinct
from .fast.step import Step
from .model import MLP, TORCH_DTYPES
from .run_rules import (
    DIVERGED_FACTOR,
    GRAD_TRACK_FIRST,
    batch_loss_band,
    curve_points,
    curve_sample,
    train_point_from,
)
from .stack_rewind import Rewind

CHUNK_STEPS = 200  # minibatches drawn at once; divergence is checked at this pace


def _device(name: str) -> str:
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda was asked for, but torch sees no CUDA device")
    return name


def evaluation_sizes(sp: Splits, vocab_size: int) -> dict[str, int]:
    """What a run's evaluations forward on these splits (hosting/cost.py prices them): the
    vocabulary; the distinct contexts of the training and dev splits (the end), of the dev
    sample (each curve point) and of the training sample (step 0); every row of both splits
    and the rows of the two samples (the notebook's arithmetic forwards rows)."""
    dev, train = curve_sample(len(sp.Ydev)), curve_sample(len(sp.Ytr))

    def contexts(X: torch.Tensor, Y: torch.Tensor) -> int:
        return len(distinct(X, Y, vocab_size)[0])

    return {
        "vocab": vocab_size,
        "train": contexts(sp.Xtr, sp.Ytr),
        "dev": contexts(sp.Xdev, sp.Ydev),
        "point": contexts(sp.Xdev[dev], sp.Ydev[dev]),
        "start": contexts(sp.Xtr[train], sp.Ytr[train]),
        "rows": len(sp.Ytr) + len(sp.Ydev),
        "point_rows": len(dev),
        "start_rows": len(train),
    }


class StackTrainer(Rewind):
    """One stack of runs training in this process (train_stack drives one per process)."""

    def __init__(
        self,
        cfgs: list[RunConfig],
        vocab_size: int,
        sp: Splits,
        every: int,
        hist: int,
        diagnostics: bool = True,
    ):
        c0 = cfgs[0]
        self.cfgs, self.K, self.steps = cfgs, len(cfgs), c0.train.steps
        self.B, self.dev = c0.train.batch_size, _device(c0.train.device)
        self.Xtr, self.Ytr = sp.Xtr.to(self.dev), sp.Ytr.to(self.dev)
        self.Xdev, self.Ydev = sp.Xdev.to(self.dev), sp.Ydev.to(self.dev)
        model = MLP(
            [c.model for c in cfgs],
            vocab_size,
            c0.data.block_size,
            [c.train.seed for c in cfgs],
            self.dev,
            c0.train.dtype,
            [c.train.rng for c in cfgs],
        )
        self.init = {n: p.clone() for n, p in model.named_parameters()}
        self.step = Step(model, self.B)
        self.model = self.step.model  # the model being trained: views of the step's buffers
        self.V = vocab_size
        self.offsets = torch.arange(self.K, device=self.dev).view(-1, 1, 1, 1) * self.V
        self.gens = model.gens  # rng "lecture": the generators that drew the init, continuing
        dt = TORCH_DTYPES[c0.train.dtype]
        self.decay = torch.tensor([c.train.lr_decay_step or self.steps + 1 for c in cfgs])
        # each run's lr before and after its decay step, in Python floats as the lecture
        self.lr_before = torch.tensor([c.train.lr for c in cfgs], dtype=dt)
        self.lr_after = torch.tensor([c.train.lr / 10 for c in cfgs], dtype=dt)
        self.alive = torch.ones(self.K, dtype=torch.bool)
        self.diverged_above = DIVERGED_FACTOR * math.log(vocab_size)
        self.diverged_at: list[int | None] = [None] * self.K
        self.frozen: dict[int, dict[str, torch.Tensor]] = {}  # diverged run: its state then
        self.losses = torch.full((self.steps, self.K), float("nan"), dtype=dt, device=self.dev)
        self.grad_max = torch.zeros(len(self.init), self.K, dtype=torch.float64, device=self.dev)
        # each of the first steps' gradient norms: zero_init's float64 check compares them
        first = (min(self.steps, GRAD_TRACK_FIRST), len(self.init), self.K)
        self.grad_first = torch.zeros(first, dtype=torch.float64, device=self.dev)
        self.curve = {"step": [], "train": [], "val": []}
        val_rows = curve_sample(len(self.Ydev)).to(self.dev)
        self.Xval, self.Yval = self.Xdev[val_rows], self.Ydev[val_rows]
        self.diagnostics = diagnostics
        # evaluation "dev" (config.TrainConfig): the same steps keep their gradients, so
        # the arithmetic is the full evaluation's, but nothing is measured from them
        self.full = c0.train.evaluation == "full"
        self.points = curve_points(c0.train.evaluation)
        self.recorder = Recorder(self.model, every, hist, last=self.steps - 1)
        self.saved = [t.clone() for t in self.mutable()]  # the state at a chunk's start
        self.saved_captures = (0, 0)

    def lrs(self, a: int, n: int) -> torch.Tensor:
        """(n, K): each run's lr at steps a .. a+n-1: lr, a tenth of it from the decay step
        on, 0 once the run has diverged."""
        steps = torch.arange(a, a + n).view(n, 1)
        lr = torch.where(steps >= self.decay, self.lr_after, self.lr_before)
        return lr * self.alive

    def needs_grads(self, i: int) -> bool:
        """Does step i keep its gradients (norms, diagnostics)? Else it runs as Step.apply."""
        if not self.diagnostics:
            return False
        return i < GRAD_TRACK_FIRST or self.recorder.due(i)

    def batches(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The next n minibatches: X (n, K*B*block_size), the contexts of all runs offset
        by k * vocab_size and flattened; Y (n, K, B), the targets."""
        ix = torch.stack(
            [torch.randint(0, len(self.Ytr), (n, self.B), generator=g) for g in self.gens]
        ).to(self.dev)  # (K, n, B)
        X = (self.Xtr[ix] + self.offsets).transpose(0, 1).reshape(n, -1)
        return X, self.Ytr[ix].transpose(0, 1)

    def segment(self, a: int, b: int) -> tuple[int, list[float]]:
        """Steps a .. b-1; returns the steps that count as done and the last losses."""
        self.run(a, b)
        return self.last_step(b), self.losses[b - 1].tolist()

    def run(self, a: int, b: int) -> None:
        """Steps a .. b-1, a chunk of minibatches at a time; stops early once every run
        has diverged. Steps that keep no gradients run as Step.apply. Denormal floats
        (below ~1e-38) are flushed to zero in this thread: sigmoid + BN at zero init makes
        round-off gradients that small, and the CPU handles them far slower, with the same
        losses and the same parameters trained (ARCHITECTURE.md)."""
        with denormals_flushed():
            self._run(a, b)

    def _run(self, a: int, b: int) -> None:
        while a < b and self.alive.any():
            n = min(CHUNK_STEPS, b - a)
            self.chunk(a, n)
            a += n

    def chunk(self, a: int, n: int) -> None:
        """Steps a .. a+n-1 on one draw of minibatches. When runs diverge in them, the chunk
        runs again from its saved start with their lr 0 from their bad step on, the earliest
        bad step first (a later one may have come from a partner's update that no longer
        happens), until no alive run goes bad; once every run has diverged, it ends at the
        last one's bad step."""
        lr = self.lrs(a, n)
        keep = [j for j in range(n) if self.needs_grads(a + j)]
        X, Y = self.batches(n)
        self.save()
        died: dict[int, int] = {}
        while True:
            self.chunk_steps(a, n, (X, Y, lr, keep), died)
            new = self.first_bad(a, n, died)
            if not new:
                break
            died |= new
            for k, d in new.items():
                lr[d - a :, k] = 0
            if len(died) == int(self.alive.sum()):  # the stack stops after that step
                n = max(died.values()) - a + 1
                self.losses[a + n :] = float("nan")  # steps that do not happen
            self.restore()
        for k, d in died.items():
            self.diverged_at[k] = d
            self.alive[k] = False

    def chunk_steps(self, a: int, n: int, draw: tuple, died: dict[int, int]) -> None:
        """The chunk's first n steps on draw = (X, Y, lr, keep); steps in keep keep their
        gradients, the others run as Step.apply. Each run in died (run: step) is frozen at
        its step."""
        X, Y, lr, keep = draw
        G = self.step.targets(Y[:n], lr[:n], [j for j in keep if j < n])
        logp_Y = self.losses.new_empty(n, self.K, 1, self.B)
        keep_set, apply = set(keep), self.step.apply
        freeze: dict[int, list[int]] = {}
        for k, d in died.items():
            freeze.setdefault(d - a, []).append(k)
        batches = zip(X[:n], Y[:n].unsqueeze(2), G, logp_Y)
        for j, batch in enumerate(batches):
            if j in freeze:
                self.freeze(freeze[j], after=False)
            if j in keep_set:
                self.grad_step(a + j, batch, lr[j])
            else:
                apply(*batch)
            if j in freeze:
                self.freeze(freeze[j], after=True)
        torch.mean(logp_Y, (2, 3), out=self.losses[a : a + n]).neg_()

    def grad_step(self, i: int, batch: tuple, lr: torch.Tensor) -> None:
        """Step i with every gradient kept for the diagnostics, then the update."""
        self.step(*batch)
        if not self.full:
            self.step.update(lr)
            return
        norms = self.step.grad_norms().nan_to_num_(0.0)
        torch.maximum(self.grad_max, norms, out=self.grad_max)
        if i < len(self.grad_first):
            self.grad_first[i] = norms
        if self.recorder.due(i):
            self.recorder.capture(i, lr, self.step.activations())
        self.step.update(lr)

    def outcomes(self, done: int, stopped: bool, seconds: float, K: int) -> list[tuple]:
        """Each run's (config, status, metrics, weights), train.RunOutcome's fields:
        full-split losses, curve, what trained, diagnostics. K: the whole stack's size
        (this process may hold part of it)."""
        self.thaw()
        sp_val = self.step.evaluate(self.Xdev, self.Ydev)
        sp_tr = self.step.evaluate(self.Xtr, self.Ytr) if self.full else [None] * self.K
        measured = self.diagnostics and self.full
        grad_max = self.grad_max.cpu() if measured else None
        out = []
        for k, cfg in enumerate(self.cfgs):
            finite = math.isfinite(sp_val[k]) and (sp_tr[k] is None or math.isfinite(sp_tr[k]))
            if not finite and self.diverged_at[k] is None:  # NaN is never a result
                self.diverged_at[k] = max(done - 1, 0)
            d = self.diverged_at[k]
            status = "diverged" if d is not None else "stopped" if stopped else "ok"
            ran = done if d is None else min(done, d + 1)  # the steps it measured
            metrics = {
                "steps": done,
                "status": status,
                "diverged_at": d,
                **self.divergence(k),
                "train_loss": sp_tr[k],
                "val_loss": sp_val[k],
                "seconds": seconds,
                "steps_per_second": done / seconds if seconds else None,
                "stacked_with": K,
                "curve": {
                    "step": self.curve["step"],
                    "train": [row[k] for row in self.curve["train"]],
                    "val": [row[k] for row in self.curve["val"]],
                },
                "params": param_table(self.model, self.init, grad_max, k),
                "grad_norms_first": self.grad_norms_first(k) if measured else None,
                "batch_loss_band": batch_loss_band(self.losses[:ran, k]),
                "diagnostics": self.recorder.result(k) if measured else None,
            }
            if not self.full:
                metrics["evaluation"] = "dev"
            out.append((cfg, status, metrics, self.model.state_dict(k)))
        return out

    def last_step(self, planned: int) -> int:
        """Steps that count as done: all of them, or up to the last divergence."""
        if self.alive.any():
            return planned
        return max(d for d in self.diverged_at if d is not None) + 1

    def grad_norms_first(self, k: int) -> dict[str, list[float]]:
        """Run k's gradient norm of every parameter at each of the first steps."""
        names = [n for n, _ in self.model.named_parameters()]
        return {n: self.grad_first[:, j, k].tolist() for j, n in enumerate(names)}

    def start_point(self) -> tuple[list[float], list[float]]:
        """The curve at step 0, before any update: losses of the initial weights on a train
        sample and on the dev sample (the lecture's first check: ln(vocab) at zero init)."""
        rows = curve_sample(len(self.Ytr)).to(self.dev)
        self.curve["step"].append(0)
        self.curve["train"].append(self.step.evaluate(self.Xtr[rows], self.Ytr[rows]))
        self.curve["val"].append(self.step.evaluate(self.Xval, self.Yval))
        return self.curve["train"][-1], self.curve["val"][-1]

    def curve_point(self, i: int) -> tuple[list[float], list[float]]:
        """The live curve after step i: mean train loss since the last point, val loss on
        the dev sample; returns both rows."""
        every = max(self.steps // self.points, 1)
        done = self.losses[train_point_from(self.curve["step"], i + 1, every) : i + 1]
        self.curve["step"].append(i + 1)
        self.curve["train"].append(done.nanmean(0).tolist())
        self.curve["val"].append(self.step.evaluate(self.Xval, self.Yval))
        return self.curve["train"][-1], self.curve["val"][-1]
