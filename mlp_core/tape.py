"""A training step as a fixed list of torch calls (a "tape") over buffers allocated once.

Building the list costs Python once; replaying it costs one call per op, with every
argument, ``out=`` buffer included, already bound. The layers add their own ops
(``layers.py``: ``plan``/``plan_backward``); engine.py plans the whole step.
"""

from __future__ import annotations

from functools import partial

import torch


class Tape:
    def __init__(self):
        self.ops: list = []

    def add(self, fn, *args, **kwargs) -> None:
        self.ops.append(partial(fn, *args, **kwargs))

    def __call__(self) -> None:
        for op in self.ops:
            op()


def to_batch_major(tape, x: torch.Tensor) -> torch.Tensor:
    """(K, B, D) -> (B, K*D): a view when K == 1, else a buffer the tape copies into."""
    K, B, D = x.shape
    if K == 1:
        return x.view(B, D)
    xt = x.new_empty(B, K, D)
    tape.add(xt.copy_, x.transpose(0, 1))
    return xt.view(B, K * D)


def to_run_major(tape, xt: torch.Tensor, K: int) -> torch.Tensor:
    """(B, K*D) -> (K, B, D), the inverse of to_batch_major."""
    B = xt.shape[0]
    if K == 1:
        return xt.view(1, B, -1)
    x = xt.new_empty(K, B, xt.shape[1] // K)
    tape.add(x.copy_, xt.view(B, K, -1).transpose(0, 1))
    return x


def plan_eager(layer, tape, x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """A layer without a fast form: its readable forward, copied into a fixed buffer."""
    out = torch.empty_like(x) if out is None else out
    tape.add(lambda: out.copy_(layer(x)))
    return out


def plan_eager_backward(layer, tape, dout: torch.Tensor) -> torch.Tensor:
    dx = torch.empty_like(dout)
    tape.add(lambda: dx.copy_(layer.backward(dout)))
    return dx
