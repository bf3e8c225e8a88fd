"""A fixed list of torch calls (a "tape") over buffers allocated once.

Building the list costs Python once; replaying it costs one call per op, with every
argument, ``out=`` buffer included, already bound. The kernels (kernels.py) add their ops;
step.py and evaluate.py plan whole steps and evaluations with them.
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


def plan_eager(layer, tape, x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """A layer without a fast form: its readable forward, on (K, B, features) views of the
    feature-major buffers, copied into a fixed buffer."""
    out = torch.empty_like(x) if out is None else out
    tape.add(lambda: out.mT.copy_(layer(x.mT)))
    return out


def plan_eager_backward(layer, tape, dout: torch.Tensor) -> torch.Tensor:
    """The readable backward of a layer planned with plan_eager."""
    dx = torch.empty_like(dout)
    tape.add(lambda: dx.mT.copy_(layer.backward(dout.mT)))
    return dx
