"""The lecture's layers, from scratch, with a leading run dimension K.

Every tensor carries K first: weights (K, fan_in, fan_out), activations (K, B, features),
so K independent runs train in one loop with batched matmuls. Each layer has a forward
(``__call__``, autograd-friendly: no in-place ops on saved tensors) and a hand-written
``backward(dout) -> dx`` that fills ``.grad`` of its parameters; tests check it against
autograd and against torch.nn.

These are the reference: training runs the same maths through the planned engine
(``mlp_core.fast``: one kernel per layer type, ARCHITECTURE.md "The fast path"), which
holds these layers to their forward and backward in tests/test_engine.py. Nothing here
knows about that engine.
"""

from __future__ import annotations

import torch


class Linear:
    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None):
        self.weight = weight  # (K, fan_in, fan_out), lecture layout: out = x @ W + b
        self.bias = bias  # (K, 1, fan_out) or None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:  # x (K, B, fan_in)
        self.x = x
        if self.bias is None:
            self.out = torch.bmm(x, self.weight)
        else:
            self.out = torch.baddbmm(self.bias, x, self.weight)
        return self.out

    def backward(self, dout: torch.Tensor) -> torch.Tensor:
        _set_grad(self.weight, torch.bmm(self.x.transpose(1, 2), dout))
        if self.bias is not None:
            _set_grad(self.bias, dout.sum(1, keepdim=True))
        return torch.bmm(dout, self.weight.transpose(1, 2))

    def named_parameters(self) -> list[tuple[str, torch.Tensor]]:
        return [("weight", self.weight)] + ([("bias", self.bias)] if self.bias is not None else [])


class BatchNorm1d:
    """Normalises over the batch (dim 1) like torch.nn.BatchNorm1d: the batch's biased
    variance normalises, the unbiased one feeds running_var (the lecture used unbiased for
    both; we match torch so a test can hold us to it)."""

    def __init__(self, K: int, dim: int, eps: float = 1e-5, momentum: float = 0.1, **tk):
        self.eps, self.momentum, self.training = eps, momentum, True
        self.gamma = torch.ones(K, 1, dim, **tk)
        self.beta = torch.zeros(K, 1, dim, **tk)
        self.running_mean = torch.zeros(K, 1, dim, **tk)
        self.running_var = torch.ones(K, 1, dim, **tk)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:  # x (K, B, dim)
        if self.training:
            xmean = x.mean(1, keepdim=True)
            xvar = x.var(1, keepdim=True, unbiased=False)
        else:
            xmean, xvar = self.running_mean, self.running_var
        self.rstd = torch.rsqrt(xvar + self.eps)
        self.xhat = (x - xmean) * self.rstd
        self.out = self.gamma * self.xhat + self.beta
        if self.training:
            self._update_running(xmean, xvar, x.shape[1])
        return self.out

    @torch.no_grad()
    def _update_running(self, xmean, xvar, n: int) -> None:
        unbiased = xvar * (n / max(n - 1, 1))
        self.running_mean.lerp_(xmean.detach(), self.momentum)
        self.running_var.lerp_(unbiased.detach(), self.momentum)

    def backward(self, dout: torch.Tensor) -> torch.Tensor:
        n = dout.shape[1]
        _set_grad(self.gamma, (dout * self.xhat).sum(1, keepdim=True))
        _set_grad(self.beta, dout.sum(1, keepdim=True))
        dxhat = dout * self.gamma
        proj = (dxhat * self.xhat).sum(1, keepdim=True)
        return self.rstd / n * (n * dxhat - dxhat.sum(1, keepdim=True) - self.xhat * proj)

    def named_parameters(self) -> list[tuple[str, torch.Tensor]]:
        return [("gamma", self.gamma), ("beta", self.beta)]

    def buffers(self) -> list[tuple[str, torch.Tensor]]:
        return [("running_mean", self.running_mean), ("running_var", self.running_var)]


class _Activation:
    """An elementwise nonlinearity; backward uses the saved output."""

    name = ""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.out = self.f(x)
        return self.out

    def backward(self, dout: torch.Tensor) -> torch.Tensor:
        return dout * self.df(self.out)

    def named_parameters(self) -> list:
        return []


class Tanh(_Activation):
    name = "tanh"
    f = staticmethod(torch.tanh)

    @staticmethod
    def df(out):
        return 1 - out * out


class Sigmoid(_Activation):
    name = "sigmoid"
    f = staticmethod(torch.sigmoid)

    @staticmethod
    def df(out):
        return out * (1 - out)


class ReLU(_Activation):
    name = "relu"
    f = staticmethod(torch.relu)

    @staticmethod
    def df(out):
        return (out > 0).to(out.dtype)


ACTIVATION_CLASSES = {cls.name: cls for cls in (Tanh, Sigmoid, ReLU)}


class MixedActivation:
    """A different nonlinearity per run (sigmoid vs tanh vs ReLU trained in one stack)."""

    def __init__(self, kinds: list[str]):
        self.kinds = kinds
        self.groups = {k: [i for i, x in enumerate(kinds) if x == k] for k in dict.fromkeys(kinds)}
        self.acts = {k: ACTIVATION_CLASSES[k]() for k in self.groups}
        self.name = "/".join(self.groups)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        parts = {k: self.acts[k](x[idx]) for k, idx in self.groups.items()}
        self.out = torch.cat([parts[k] for k in self.groups])[self._order(x.device)]
        return self.out

    def _order(self, device) -> torch.Tensor:
        flat = [i for idx in self.groups.values() for i in idx]
        return torch.argsort(torch.tensor(flat, device=device))

    def backward(self, dout: torch.Tensor) -> torch.Tensor:
        dx = torch.empty_like(dout)
        for k, idx in self.groups.items():
            dx[idx] = self.acts[k].backward(dout[idx])
        return dx

    def named_parameters(self) -> list:
        return []


def _set_grad(p: torch.Tensor, g: torch.Tensor) -> None:
    """Store a gradient, into the existing .grad buffer when the training step owns one."""
    if p.grad is None:
        p.grad = g
    else:
        p.grad.copy_(g)


def make_activation(kinds: list[str]):
    """One activation layer for K runs; kinds[k] is run k's nonlinearity."""
    if len(set(kinds)) == 1:
        return ACTIVATION_CLASSES[kinds[0]]()
    return MixedActivation(kinds)


def saturation(kind: str, out: torch.Tensor) -> torch.Tensor:
    """Fraction of saturated units per run (K,): |tanh|>0.97, sigmoid outside [.03,.97],
    ReLU dead (exactly 0)."""
    if kind == "tanh":
        mask = out.abs() > 0.97
    elif kind == "sigmoid":
        mask = (out < 0.03) | (out > 0.97)
    else:
        mask = out == 0
    return mask.flatten(1).float().mean(1)
