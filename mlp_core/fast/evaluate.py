"""Eval-mode loss of K stacked runs over whole splits, planned, in cache-sized chunks.

A split's rows repeat their contexts (the built-in names' 171,806 training rows hold 5,427
distinct contexts, the dev split's 21,500 hold 2,932), and in eval mode a context's
output does not depend on the other rows. So the forward runs once per distinct context,
and each context's log-probabilities are weighted by how many rows have each target
(``distinct``): the sum of log p(target) over the rows, in float64, is the same sum in
another order. The loss is the same to float64's rounding of that sum; each log p is the
one its row gets alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from itertools import zip_longest

import torch

from .denormals import flushing_denormals
from .kernels import has_kernel, kernels_for, plan_forward
from .tape import Tape

EVAL_ROWS = 2048  # rows per chunk across the stack: buffers stay in cache (ARCHITECTURE.md)
EVAL_THREADS = 2  # this thread and one helper (1: evaluate in this thread alone)


def distinct(X: torch.Tensor, Y: torch.Tensor, V: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The distinct contexts of X's rows, sorted, and per context how many rows have each of
    the V targets: ``(U, block_size)`` contexts and ``(V, U)`` float64 counts."""
    bits = max(1, (V - 1).bit_length())
    if bits * X.shape[1] <= 62:  # a context as one int64: sorting it is ~40x unique(dim=0)
        key = torch.zeros(len(X), dtype=torch.long, device=X.device)
        for j in range(X.shape[1]):
            key = (key << bits) | X[:, j]
        first, inverse = _first_rows(key)
    else:
        first, inverse = _first_rows(X, dim=0)
    counts = torch.zeros(V * len(first), dtype=torch.float64, device=X.device)
    ones = torch.ones(len(Y), dtype=torch.float64, device=X.device)
    counts.index_add_(0, Y * len(first) + inverse, ones)
    return X[first], counts.view(V, len(first))


def _first_rows(x: torch.Tensor, dim: int | None = None):
    """Each distinct value's first row, in torch.unique's sorted order, and every row's
    index into them."""
    values, inverse = torch.unique(x, dim=dim, return_inverse=True)
    first = torch.full((len(values),), len(inverse), dtype=torch.long, device=x.device)
    first.scatter_reduce_(0, inverse, torch.arange(len(inverse), device=x.device), "amin")
    return first, inverse


class _EvalChunk:
    """The eval-mode forward of n distinct contexts, the same for every run, and their
    log-likelihood weighted by each context's target counts."""

    def __init__(self, model, n: int, block_size: int, fused: dict | None):
        K, V, E = model.C.shape
        dev = model.C.device
        self.offsets = torch.arange(K, device=dev).view(K, 1, 1) * V
        self.idx = torch.zeros(K, n, block_size, dtype=torch.long, device=dev)
        self.W = torch.zeros(V, n, dtype=torch.float64, device=dev)
        self.loglik = torch.zeros(K, dtype=torch.float64, device=dev)
        self.tape = Tape()
        emb = model.C.new_empty(self.idx.numel(), E)
        self.tape.add(torch.index_select, model.C.view(-1, E), 0, self.idx.view(-1), out=emb)
        kernels = kernels_for(model.layers, training=False, fused=fused)
        logits = plan_forward(kernels, self.tape, emb.view(K, n, -1).mT)[-1]
        logp = torch.empty_like(logits)
        wide = torch.empty(logits.shape, dtype=torch.float64, device=dev)
        self.tape.add(torch.log_softmax, logits, 1, out=logp)
        self.tape.add(wide.copy_, logp)
        self.tape.add(torch.mul, wide, self.W, out=wide)
        self.tape.add(torch.sum, wide, (1, 2), out=self.loglik)

    def __call__(self, X: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
        torch.add(X, self.offsets, out=self.idx)
        self.W.copy_(W)
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
        Xu, W = distinct(X, Y, model.C.shape[1])
        if all(has_kernel(layer) for layer in model.layers):
            total = _planned_loglik(model, Xu, W, fused)
        else:
            total = _loglik(model, Xu, W)
    finally:
        for layer, training in modes:
            layer.training = training
    return (-total / len(Y)).tolist()


def _planned_loglik(model, X: torch.Tensor, W: torch.Tensor, fused) -> torch.Tensor:
    """Sum of log p(target) per run over the rows, from their distinct contexts X and the
    contexts' target counts W (distinct), chunk by chunk. On the CPU, a helper thread takes
    every other chunk (ATen releases the GIL inside each op, so the two run on both cores
    when both are free); each chunk has its own buffers, and the chunks' sums are added in
    the same order either way, so the result is the same to the last bit."""
    n = min(len(X), max(256, EVAL_ROWS // model.K))
    full = len(X) // n * n
    starts = list(range(0, full, n))
    helper = len(starts) > 1 and model.C.device.type == "cpu" and EVAL_THREADS > 1
    chunks = [_EvalChunk(model, n, X.shape[1], fused) for _ in range(1 + helper)]
    if helper:
        mode = (torch.get_num_threads(), flushing_denormals())
        odd = _pool().submit(_in_helper, mode, chunks[1], X, W, starts[1::2], n)
        sums = _run(chunks[0], X, W, starts[0::2], n)
        sums = [s for pair in zip_longest(sums, odd.result()) for s in pair if s is not None]
    else:
        sums = _run(chunks[0], X, W, starts, n)
    if full < len(X):
        sums.append(_EvalChunk(model, len(X) - full, X.shape[1], fused)(X[full:], W[:, full:]))
    total = torch.zeros(model.K, dtype=torch.float64)
    for s in sums:
        total += s.cpu()
    return total


def _run(chunk: _EvalChunk, X, W, starts: list[int], n: int) -> list[torch.Tensor]:
    return [chunk(X[i : i + n], W[:, i : i + n]).clone() for i in starts]


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


def _loglik(model, X: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """_planned_loglik through model(X), for a model with a layer that has no kernel."""
    total = torch.zeros(model.K, dtype=torch.float64)
    for i in range(0, len(X), EVAL_ROWS):
        xb = X[i : i + EVAL_ROWS]
        logp = torch.log_softmax(model(xb.expand(model.K, *xb.shape)), -1).double()
        total += (logp * W[:, i : i + EVAL_ROWS].T).sum((1, 2)).cpu()
    return total
