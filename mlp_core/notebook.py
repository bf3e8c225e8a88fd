"""The user's notebook arithmetic: makemore part 3's training loop as the lecture writes it.

2-D tensors, ``x @ W + b`` with the bias added on its own, BatchNorm by its formula, the
loss by ``F.cross_entropy``, gradients by autograd, ``p.data += -lr * p.grad``. It trains
the same model as the engine (same init and same minibatches, one ``torch.randint`` per
step, both from ``model.init_and_generator``) in different arithmetic, so that a learner
can see what survives in *their* float sums: the engine keeps each bias inside its matmul,
the notebook sums the bias gradient over the batch on its own, and the two
round differently (ARCHITECTURE.md, "Two arithmetics"). Plain autograd, one run at a time:
slower than the engine, an opt-in check (``TrainConfig.arithmetic = "notebook"``).
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F

from .config import RunConfig
from .data import Dataset, make_splits
from .diagnostics import Recorder, param_table
from .model import MLP, TORCH_DTYPES, init_and_generator
from .run_rules import (
    CURVE_POINTS,
    DIVERGED_FACTOR,
    GRAD_TRACK_FIRST,
    batch_loss_band,
    curve_sample,
    default_diag_every,
    divergence,
    train_point_from,
)

ACTS = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}


class NotebookNet:
    """The lecture's parameters as plain 2-D leaf tensors, named like the engine's MLP."""

    def __init__(self, cfg: RunConfig, vocab_size: int):
        m, dt = cfg.model, TORCH_DTYPES[cfg.train.dtype]
        t = cfg.train
        init, self.gen = init_and_generator(m, vocab_size, cfg.data.block_size, t.seed, t.rng)
        self.cfg, self.n_linear = cfg, m.n_layers + 1
        self.P = {k: v.to(dt).clone().requires_grad_(True) for k, v in init.items()}
        self.running: dict[int, list[torch.Tensor]] = {}
        for i in range(self.n_linear):
            if self.has_bn(i):
                self.P.pop(f"b{i}")  # a BatchNorm's beta does the bias's job
                n = self.P[f"W{i}"].shape[1]
                self.running[i] = [torch.zeros(1, n, dtype=dt), torch.ones(1, n, dtype=dt)]
            else:
                self.P.pop(f"gamma{i}", None)
                self.P.pop(f"beta{i}", None)
        self.acts: list[torch.Tensor] = []  # hidden activations of the last forward

    def has_bn(self, i: int) -> bool:
        m = self.cfg.model
        return m.batchnorm and (i < self.n_linear - 1 or m.output_bn)

    def position(self, i: int) -> int:
        """Index of Linear i in the engine's layer list."""
        return sum(3 if self.has_bn(j) else 2 for j in range(i))

    def state_names(self) -> dict[str, str]:
        """Our keys -> the engine's state names (C, layers.i.weight, ...)."""
        names = {"C": "C"}
        for i in range(self.n_linear):
            pos = self.position(i)
            names[f"W{i}"] = f"layers.{pos}.weight"
            if self.has_bn(i):
                names[f"gamma{i}"], names[f"beta{i}"] = (
                    f"layers.{pos + 1}.gamma",
                    f"layers.{pos + 1}.beta",
                )
            else:
                names[f"b{i}"] = f"layers.{pos}.bias"
        return names

    def forward(self, X: torch.Tensor, training: bool, keep: bool = False) -> torch.Tensor:
        act, P = ACTS[self.cfg.model.activation], self.P
        x = P["C"][X].view(len(X), -1)  # (B, block_size * n_embd)
        self.acts = []
        for i in range(self.n_linear):
            x = x @ P[f"W{i}"]
            x = self._batchnorm(x, i, training) if self.has_bn(i) else x + P[f"b{i}"]
            if i < self.n_linear - 1:
                x = act(x)
                if keep:
                    x.retain_grad()  # the lecture's way to see activation gradients
                self.acts.append(x)
        return x

    def _batchnorm(self, x: torch.Tensor, i: int, training: bool) -> torch.Tensor:
        m, (rm, rv) = self.cfg.model, self.running[i]
        if training:  # biased variance to normalise, unbiased for running_var (as torch)
            mean, var = x.mean(0, keepdim=True), x.var(0, keepdim=True, unbiased=False)
            with torch.no_grad():
                rm.lerp_(mean, m.bn_momentum)
                rv.lerp_(var * (len(x) / max(len(x) - 1, 1)), m.bn_momentum)
        else:
            mean, var = rm, rv
        return self.P[f"gamma{i}"] * (x - mean) / torch.sqrt(var + m.bn_eps) + self.P[f"beta{i}"]

    def state_dict(self) -> dict[str, torch.Tensor]:
        names = self.state_names()
        out = {names[k]: v.detach().clone() for k, v in self.P.items()}
        for i, (rm, rv) in self.running.items():
            pos = self.position(i) + 1
            out[f"layers.{pos}.running_mean"] = rm.clone()
            out[f"layers.{pos}.running_var"] = rv.clone()
        return out

    @torch.no_grad()
    def loss(self, X: torch.Tensor, Y: torch.Tensor, chunk: int = 8192) -> float:
        """Mean eval-mode loss over (X, Y)."""
        total = 0.0
        for i in range(0, len(Y), chunk):
            logits = self.forward(X[i : i + chunk], training=False)
            total += float(F.cross_entropy(logits.double(), Y[i : i + chunk], reduction="sum"))
        return total / len(Y)


class _Shadow:
    """A readable K=1 MLP holding the notebook's values (and, at a capture, gradients), so
    the engine's Recorder and param_table read the notebook's run unchanged."""

    def __init__(self, net: NotebookNet, vocab_size: int):
        c = net.cfg
        self.net, self.names = net, net.state_names()
        self.model = MLP(
            [c.model], vocab_size, c.data.block_size, [c.train.seed], "cpu", c.train.dtype
        )
        self.params = dict(self.model.named_parameters())

    @torch.no_grad()
    def sync(self, grads: bool) -> None:
        for k, p in self.net.P.items():
            t = self.params[self.names[k]]
            t.copy_(p.detach().view_as(t))
            if grads:
                t.grad = None if p.grad is None else p.grad.detach().view_as(t).clone()

    def activations(self) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
        """Layer index -> (output, its gradient) of each activation, (1, B, width)."""
        idx = [i for i, layer in enumerate(self.model.layers) if hasattr(layer, "f")]
        return {i: (a.detach()[None], a.grad[None]) for i, a in zip(idx, self.net.acts)}


class _Run:
    """One run of the notebook's loop, with what the engine's outcome carries."""

    def __init__(self, cfg: RunConfig, ds: Dataset, every: int, hist: int):
        self.cfg, self.steps = cfg, cfg.train.steps
        self.sp = sp = make_splits(ds, cfg.data.block_size)
        self.net = NotebookNet(cfg, ds.vocab_size)
        self.shadow = _Shadow(self.net, ds.vocab_size)
        self.shadow.sync(False)
        self.init = {n: p.detach().clone() for n, p in self.shadow.model.named_parameters()}
        self.recorder = Recorder(self.shadow.model, every, hist, last=self.steps - 1)
        rows = curve_sample(len(sp.Ydev))
        self.Xval, self.Yval = sp.Xdev[rows], sp.Ydev[rows]
        rows = curve_sample(len(sp.Ytr))
        self.Xts, self.Yts = sp.Xtr[rows], sp.Ytr[rows]
        names = [n for n, _ in self.shadow.model.named_parameters()]
        by_name = {v: k for k, v in self.shadow.names.items()}
        self.order = [by_name[n] for n in names]  # our keys, in named_parameters order
        first = min(self.steps, GRAD_TRACK_FIRST)
        self.norms = torch.zeros(first, len(names), dtype=torch.float64)
        self.grad_max = torch.zeros(len(names), dtype=torch.float64)
        self.losses = torch.full((self.steps,), float("nan"), dtype=torch.float64)
        self.curve = {"step": [0], "train": [self.loss(self.Xts, self.Yts)]}
        self.curve["val"] = [self.loss(self.Xval, self.Yval)]
        self.gen = self.net.gen  # the minibatches' generator (rng "lecture": the init's one)
        self.bound = DIVERGED_FACTOR * math.log(ds.vocab_size)
        self.diverged_at: int | None = None

    def loss(self, X, Y) -> float:
        return self.net.loss(X, Y)

    def lr(self, i: int) -> float:
        return _lr(self.cfg, i)

    def step(self, i: int) -> bool:
        """SGD step i, the lecture's way; False once the loss is not finite or explodes."""
        net, sp = self.net, self.sp
        ix = torch.randint(0, len(sp.Ytr), (self.cfg.train.batch_size,), generator=self.gen)
        keep = self.recorder.due(i)
        loss = F.cross_entropy(net.forward(sp.Xtr[ix], True, keep=keep), sp.Ytr[ix])
        for p in net.P.values():
            p.grad = None
        loss.backward()
        self.losses[i] = loss.item()
        if not (math.isfinite(self.losses[i]) and self.losses[i] < self.bound):
            self.diverged_at = i
            return False
        with torch.no_grad():
            if i < GRAD_TRACK_FIRST or keep:  # where the engine reads gradients too
                self._track(i, keep)
            for p in net.P.values():
                p += -self.lr(i) * p.grad
        return True

    def _track(self, i: int, keep: bool) -> None:
        P = self.net.P
        n = torch.stack(
            [torch.linalg.vector_norm(P[k].grad, dtype=torch.float64) for k in self.order]
        )
        torch.maximum(self.grad_max, n.nan_to_num(0.0), out=self.grad_max)
        if i < len(self.norms):
            self.norms[i] = n
        if keep:
            self.shadow.sync(True)
            lr = torch.tensor([self.lr(i)], dtype=torch.float64)
            self.recorder.capture(i, lr, self.shadow.activations())

    def curve_point(self, done: int, every: int) -> None:
        start = train_point_from(self.curve["step"], done, every)
        self.curve["step"].append(done)
        self.curve["train"].append(float(self.losses[start:done].mean()))
        self.curve["val"].append(self.loss(self.Xval, self.Yval))

    def divergence(self) -> dict:
        """The divergence fields (stack.divergence) from the loss of the divergent step."""
        d = self.diverged_at
        return divergence(d, None if d is None else float(self.losses[d]), self.bound)

    def metrics(self, done: int, status: str, seconds: float) -> dict:
        self.shadow.sync(False)
        model, sp = self.shadow.model, self.sp
        names = [n for n, _ in model.named_parameters()]
        return {
            "steps": done,
            "status": status,
            "diverged_at": self.diverged_at,
            **self.divergence(),
            "train_loss": self.loss(sp.Xtr, sp.Ytr),
            "val_loss": self.loss(sp.Xdev, sp.Ydev),
            "seconds": seconds,
            "steps_per_second": done / seconds if seconds else None,
            "stacked_with": 1,
            "curve": self.curve,
            "params": param_table(model, self.init, self.grad_max.view(-1, 1), 0),
            "grad_norms_first": {n: self.norms[:, j].tolist() for j, n in enumerate(names)},
            "batch_loss_band": batch_loss_band(self.losses[:done]),
            "diagnostics": self.recorder.result(0),
        }


def train_notebook(cfg: RunConfig, ds: Dataset, on_progress=None, on_slice=None):
    """Train one run in the notebook's arithmetic: (status, metrics, state), the fields of
    train.RunOutcome, its metrics shaped like the engine's. on_progress(done, seconds,
    curve) returning True stops it; on_slice(steps just run) -> steps of the next slice is
    called between slices, as train_stack does (turns between visitors)."""
    steps = cfg.train.steps
    every = default_diag_every(steps)
    run = _Run(cfg, ds, every, every * max(1, steps // (every * 5)))
    curve_every, t0, done, stopped = max(1, steps // CURVE_POINTS), time.perf_counter(), 0, False
    left = ran = 0  # steps left in this slice, steps run in it
    for i in range(steps):
        if on_slice is not None and left <= 0:
            left, ran = max(1, on_slice(ran)), 0
        if not run.step(i):
            break
        done, left, ran = i + 1, left - 1, ran + 1
        if done % curve_every == 0 or done == steps:
            run.curve_point(done, curve_every)
            if on_progress and on_progress(done, time.perf_counter() - t0, run.curve):
                stopped = True
                break
    status = "diverged" if run.diverged_at is not None else "stopped" if stopped else "ok"
    seconds = time.perf_counter() - t0
    metrics = run.metrics(done, status, seconds)
    losses = (metrics["train_loss"], metrics["val_loss"])
    if status != "diverged" and not all(math.isfinite(x) for x in losses):
        run.diverged_at = max(done - 1, 0)  # NaN is never a result (the engine's rule)
        status = "diverged"
        metrics |= {"status": status, "diverged_at": run.diverged_at, **run.divergence()}
    return status, metrics, run.net.state_dict()


def _lr(cfg: RunConfig, i: int) -> float:
    t = cfg.train
    return t.lr / 10 if t.lr_decay_step and i >= t.lr_decay_step else t.lr
