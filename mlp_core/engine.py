"""One SGD step of K stacked runs (forward, hand-written backward, update), and evaluation.

Both are planned once as tapes of ``out=`` torch calls over buffers allocated up front
(tape.py); per call only the minibatch is copied in. Every parameter lives in one flat
buffer and every gradient in another, so the update of all parameters of all runs is a
single op. The maths is the layers' own (layers.py), checked against a plain autograd loop
in tests/test_engine.py.
"""

from __future__ import annotations

import torch

from .layers import MixedActivation, _Activation
from .model import MLP, cross_entropy
from .tape import Tape

EVAL_ROWS = 2048  # rows per eval chunk across the stack: buffers stay in cache (DESIGN §6)


def flatten(model: MLP) -> tuple[torch.Tensor, torch.Tensor]:
    """Move every parameter into one buffer (each stays (K, ...), now a view of it) and give
    each a .grad view of a second buffer; returns both buffers."""
    named = model.named_parameters()
    flat = named[0][1].new_empty(sum(p.numel() for _, p in named))
    grads = torch.zeros_like(flat)
    offset = 0
    for name, p in named:
        view = flat[offset : offset + p.numel()].view_as(p)
        view.copy_(p)
        view.grad = grads[offset : offset + p.numel()].view_as(p)
        model.set_parameter(name, view)
        offset += p.numel()
    return flat, grads


def plan_forward(model: MLP, tape: Tape, idx: torch.Tensor, n: int) -> torch.Tensor:
    """The forward of n rows per run, in the model's current mode: idx (K*n*block_size,)
    holds context indices offset by k * vocab_size; returns the logits buffer (K, n, V)."""
    E = model.C.shape[2]
    emb = model.C.new_empty(idx.numel(), E)
    tape.add(torch.index_select, model.C.view(-1, E), 0, idx, out=emb)
    x = emb.view(model.K, n, -1)  # (K, n, block_size * n_embd)
    for layer in model.layers:
        x = layer.plan(tape, x)
    return x


def plan_loss(tape: Tape, logits: torch.Tensor, Y: torch.Tensor, out: torch.Tensor):
    """out (K,) <- sum over rows of log p(Y); returns the log-softmax buffer."""
    logp = torch.empty_like(logits)
    picked = logits.new_empty(*Y.shape)
    tape.add(torch.log_softmax, logits, 2, out=logp)
    tape.add(torch.gather, logp, 2, Y, out=picked)
    tape.add(torch.sum, picked, (1, 2), dtype=out.dtype, out=out)
    return logp


class Step:
    """Call with a minibatch to run forward and backward; then ``update()``."""

    def __init__(self, model: MLP, batch_size: int):
        self.model, K = model, model.K
        self.flat, self.grads = flatten(model)
        idx = torch.zeros(K * batch_size * model.block_size, dtype=torch.long)
        self.X, self.Y = idx.to(model.C.device), torch.zeros_like(idx[: K * batch_size])
        self.Y = self.Y.view(K, batch_size, 1)
        self.forward, self.backward = Tape(), Tape()
        logits = plan_forward(model, self.forward, self.X, batch_size)
        self.loglik = logits.new_empty(K)  # sum of log p(target) per run
        logp = plan_loss(self.forward, logits, self.Y, self.loglik)
        d = torch.empty_like(logits)  # dloss/dlogits = (softmax - onehot) / B
        self.backward.add(torch.exp, logp, out=d)
        self.backward.add(d.scatter_add_, 2, self.Y, torch.full_like(self.Y, -1, dtype=d.dtype))
        self.backward.add(d.mul_, 1.0 / batch_size)
        for layer in reversed(model.layers):
            d = layer.plan_backward(self.backward, d)
        dC = model.C.grad.view(-1, model.C.shape[2])
        self.backward.add(dC.zero_)
        self.backward.add(dC.index_add_, 0, self.X, d.view(-1, model.C.shape[2]))
        self._bound = [
            (layer, layer.out, layer.dout)
            for layer in model.layers
            if isinstance(layer, (_Activation, MixedActivation)) and hasattr(layer, "dout")
        ]
        self._sq = [self.grads.new_empty(p.numel()).view(K, -1) for p in model.parameters()]
        self.neg_lr: torch.Tensor | float = 0.0
        self.loss_scale = -1.0 / batch_size

    def __call__(self, X: torch.Tensor, Y: torch.Tensor, loss_out: torch.Tensor) -> None:
        """X (K*B*block_size,) contexts already offset by k*vocab_size, Y (K, B, 1):
        forward and backward; loss_out (K,) receives each run's minibatch loss."""
        self.X.copy_(X)
        self.Y.copy_(Y)
        self.forward()
        torch.mul(self.loglik, self.loss_scale, out=loss_out)
        self.backward()

    def set_lr(self, lr: torch.Tensor) -> None:
        """lr (K,): each run's learning rate from now on (0 freezes a run)."""
        if bool((lr == lr[0]).all()):
            self.neg_lr = -float(lr[0])
            return
        per_param = [(-lr).view(-1, 1).expand(-1, p[0].numel()) for p in self.model.parameters()]
        self.neg_lr = torch.cat([x.reshape(-1) for x in per_param]).to(self.flat)

    def update(self) -> None:
        if isinstance(self.neg_lr, float):
            self.flat.add_(self.grads, alpha=self.neg_lr)
        else:
            self.flat.addcmul_(self.grads, self.neg_lr)

    def grad_norms(self) -> torch.Tensor:
        """(n_params, K) gradient norms of every parameter of every run."""
        sums = [
            torch.mul(p.grad.view_as(sq), p.grad.view_as(sq), out=sq).sum(1)
            for p, sq in zip(self.model.parameters(), self._sq)
        ]
        return torch.stack(sums).sqrt_()

    def bind(self) -> None:
        """Point the activation layers' .out/.dout (what the diagnostics read) at this
        step's buffers again: an evaluation in between rebinds them to its own."""
        for layer, out, dout in self._bound:
            layer.out, layer.dout = out, dout


class _EvalChunk:
    """The eval-mode forward and loss of n rows, the same rows for every run."""

    def __init__(self, model: MLP, n: int, block_size: int):
        K, V, _ = model.C.shape
        self.offsets = torch.arange(K, device=model.C.device).view(K, 1, 1) * V
        self.idx = torch.zeros(K, n, block_size, dtype=torch.long, device=model.C.device)
        self.Y = torch.zeros(K, n, 1, dtype=torch.long, device=model.C.device)
        self.loglik = torch.zeros(K, dtype=torch.float64, device=model.C.device)
        self.tape = Tape()
        logits = plan_forward(model, self.tape, self.idx.view(-1), n)
        plan_loss(self.tape, logits, self.Y, self.loglik)

    def __call__(self, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        torch.add(X, self.offsets, out=self.idx)
        self.Y.copy_(Y.view(1, -1, 1).expand_as(self.Y))
        self.tape()
        return self.loglik


@torch.inference_mode()
def evaluate(model: MLP, X: torch.Tensor, Y: torch.Tensor) -> list[float]:
    """Mean loss per run over all rows of (X, Y), eval mode, in cache-sized chunks. Works
    for any model called like MLP; layers without a plan run through model(X)."""
    model.set_training(False)
    try:
        if all(hasattr(layer, "plan") for layer in model.layers):
            total = _planned_loglik(model, X, Y)
        else:
            total = _loglik(model, X, Y)
    finally:
        model.set_training(True)
    return (-total / len(Y)).tolist()


def _planned_loglik(model: MLP, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    n = min(len(Y), max(256, EVAL_ROWS // model.K))
    chunk, total = _EvalChunk(model, n, X.shape[1]), torch.zeros(model.K, dtype=torch.float64)
    full = len(Y) // n * n
    for i in range(0, full, n):
        total += chunk(X[i : i + n], Y[i : i + n]).cpu()
    if full < len(Y):
        total += _EvalChunk(model, len(Y) - full, X.shape[1])(X[full:], Y[full:]).cpu()
    return total


def _loglik(model, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    total = torch.zeros(model.K, dtype=torch.float64)
    for i in range(0, len(Y), EVAL_ROWS):
        xb, yb = X[i : i + EVAL_ROWS], Y[i : i + EVAL_ROWS]
        loss = cross_entropy(model(xb.expand(model.K, *xb.shape)), yb.expand(model.K, -1))
        total -= loss.double().cpu() * len(yb)
    return total
