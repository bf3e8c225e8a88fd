"""Eval-mode loss of K stacked runs over whole splits, planned, in cache-sized chunks."""

from __future__ import annotations

import torch

from ..model import cross_entropy
from .kernels import has_kernel, kernels_for, plan_forward
from .tape import Tape

EVAL_ROWS = 2048  # rows per chunk across the stack: buffers stay in cache (ARCHITECTURE.md)


class _EvalChunk:
    """The eval-mode forward and log-likelihood of n rows, the same rows for every run."""

    def __init__(self, model, n: int, block_size: int, fused: dict | None):
        K, V, E = model.C.shape
        dev = model.C.device
        self.offsets = torch.arange(K, device=dev).view(K, 1, 1) * V
        self.idx = torch.zeros(K, n, block_size, dtype=torch.long, device=dev)
        self.Y = torch.zeros(K, 1, n, dtype=torch.long, device=dev)
        self.loglik = torch.zeros(K, dtype=torch.float64, device=dev)
        self.tape = Tape()
        emb = model.C.new_empty(self.idx.numel(), E)
        self.tape.add(torch.index_select, model.C.view(-1, E), 0, self.idx.view(-1), out=emb)
        kernels = kernels_for(model.layers, training=False, fused=fused)
        logits = plan_forward(kernels, self.tape, emb.view(K, n, -1).mT)[-1]
        logp, picked = torch.empty_like(logits), logits.new_empty(K, 1, n)
        self.tape.add(torch.log_softmax, logits, 1, out=logp)
        self.tape.add(torch.gather, logp, 1, self.Y, out=picked)
        self.tape.add(torch.sum, picked, (1, 2), dtype=torch.float64, out=self.loglik)

    def __call__(self, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        torch.add(X, self.offsets, out=self.idx)
        self.Y.copy_(Y.view(1, 1, -1).expand_as(self.Y))
        self.tape()
        return self.loglik


@torch.inference_mode()
def evaluate(model, X: torch.Tensor, Y: torch.Tensor, fused: dict | None = None) -> list[float]:
    """Mean loss per run over all rows of (X, Y), eval mode. Works for any model called like
    MLP; one with a layer that has no kernel runs through model(X). Each BN's mode is put
    back as it was. ``fused``: the weight blocks of a Step's model (step.py)."""
    modes = [(layer, layer.training) for layer in model.layers if hasattr(layer, "training")]
    model.set_training(False)
    try:
        if all(has_kernel(layer) for layer in model.layers):
            total = _planned_loglik(model, X, Y, fused)
        else:
            total = _loglik(model, X, Y)
    finally:
        for layer, training in modes:
            layer.training = training
    return (-total / len(Y)).tolist()


def _planned_loglik(model, X: torch.Tensor, Y: torch.Tensor, fused) -> torch.Tensor:
    n = min(len(Y), max(256, EVAL_ROWS // model.K))
    chunk = _EvalChunk(model, n, X.shape[1], fused)
    total = torch.zeros(model.K, dtype=torch.float64)
    full = len(Y) // n * n
    for i in range(0, full, n):
        total += chunk(X[i : i + n], Y[i : i + n]).cpu()
    if full < len(Y):
        total += _EvalChunk(model, len(Y) - full, X.shape[1], fused)(X[full:], Y[full:]).cpu()
    return total


def _loglik(model, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    total = torch.zeros(model.K, dtype=torch.float64)
    for i in range(0, len(Y), EVAL_ROWS):
        xb, yb = X[i : i + EVAL_ROWS], Y[i : i + EVAL_ROWS]
        loss = cross_entropy(model(xb.expand(model.K, *xb.shape)), yb.expand(model.K, -1))
        total -= loss.double().cpu() * len(yb)
    return total
