"""Eval-mode loss of K stacked runs over whole splits, planned, in cache-sized chunks."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from itertools import zip_longest

import torch

from ..model import cross_entropy
from .denormals import flushing_denormals
from .kernels import has_kernel, kernels_for, plan_forward
from .tape import Tape

EVAL_ROWS = 2048  # rows per chunk across the stack: buffers stay in cache (ARCHITECTURE.md)
EVAL_THREADS = 2  # this thread and one helper (1: evaluate in this thread alone)


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
    """Sum of log p(target) per run, chunk by chunk. On the CPU, a helper thread takes
    every other chunk (ATen releases the GIL inside each op, so the two run on both cores
    when both are free); each chunk has its own buffers, and the chunks' sums are added in
    the same order either way, so the result is the same to the last bit."""
    n = min(len(Y), max(256, EVAL_ROWS // model.K))
    full = len(Y) // n * n
    starts = list(range(0, full, n))
    helper = len(starts) > 1 and model.C.device.type == "cpu" and EVAL_THREADS > 1
    chunks = [_EvalChunk(model, n, X.shape[1], fused) for _ in range(1 + helper)]
    if helper:
        mode = (torch.get_num_threads(), flushing_denormals())
        odd = _pool().submit(_in_helper, mode, chunks[1], X, Y, starts[1::2], n)
        sums = _run(chunks[0], X, Y, starts[0::2], n)
        sums = [s for pair in zip_longest(sums, odd.result()) for s in pair if s is not None]
    else:
        sums = _run(chunks[0], X, Y, starts, n)
    if full < len(Y):
        sums.append(_EvalChunk(model, len(Y) - full, X.shape[1], fused)(X[full:], Y[full:]))
    total = torch.zeros(model.K, dtype=torch.float64)
    for s in sums:
        total += s.cpu()
    return total


def _run(chunk: _EvalChunk, X, Y, starts: list[int], n: int) -> list[torch.Tensor]:
    return [chunk(X[i : i + n], Y[i : i + n]).clone() for i in starts]


def _in_helper(mode: tuple[int, bool], *args) -> list[torch.Tensor]:
    """_run in the helper thread, with the caller's thread count and denormal mode (both
    are per thread) and in inference mode (the buffers are inference tensors)."""
    torch.set_num_threads(mode[0])
    torch.set_flush_denormal(mode[1])
    with torch.inference_mode():
        return _run(*args)


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="evaluate")


def start_helper() -> None:
    """Make the helper thread now, in this thread: a new thread inherits the OS priority
    of the thread that makes it, and the first to evaluate may be a low-priority one
    (warm.py)."""
    _pool().submit(int).result()


def _loglik(model, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    total = torch.zeros(model.K, dtype=torch.float64)
    for i in range(0, len(Y), EVAL_ROWS):
        xb, yb = X[i : i + EVAL_ROWS], Y[i : i + EVAL_ROWS]
        loss = cross_entropy(model(xb.expand(model.K, *xb.shape)), yb.expand(model.K, -1))
        total -= loss.double().cpu() * len(yb)
    return total
