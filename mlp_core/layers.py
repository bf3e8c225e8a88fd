"""The lecture's layers, from scratch, with a leading run dimension K.

Every tensor carries K first: weights (K, fan_in, fan_out), activations (K, B, features),
so K independent runs train in one loop with batched matmuls. Each layer has a forward
(``__call__``, autograd-friendly: no in-place ops on saved tensors) and a hand-written
``backward(dout) -> dx`` that fills ``.grad`` of its parameters; tests check it against
autograd and against torch.nn.

For training, ``plan(tape, x)`` and ``plan_backward(tape, dout)`` write the same maths as a
fixed list of ``out=`` torch calls over buffers allocated once (see engine.py): no
allocation and little Python per step. Planned buffers are feature-major, (K, features,
B), and a Linear keeps its weight as ``wt`` (K, fan_out, fan_in), bias column last when
fused: then none of the three matmuls of a layer reads the transposed weight in the slow
way, and an activation writes one contiguous block (measured 12% less time per hidden
layer than batch-major; README "Speed"). Layers without a fast form fall back to their readable
forward/backward inside the tape (``tape.plan_eager``).
"""

from __future__ import annotations

import torch

from .tape import plan_eager, plan_eager_backward


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

    # (K, fan_out, fan_in [+ 1]): the weight as stored by engine.flatten, with the bias as
    # its last column when fused (the input then carries a row of ones)
    wt: torch.Tensor | None = None
    fused = False

    def _wt(self) -> torch.Tensor:
        """The weight as (K, fan_out, fan_in): a view of wt, or of weight in a model the
        engine did not flatten (evaluation)."""
        if self.wt is None:
            return self.weight.transpose(1, 2)
        return self.wt[:, :, : self.weight.shape[1]]

    def plan(self, tape, x: torch.Tensor, x1: torch.Tensor | None = None) -> torch.Tensor:
        """x (K, fan_in, B). x1 (K, fan_in + 1, B): x over a row of ones, given when
        weight and bias are fused in wt: then out = wt @ x1, and one matmul gives both
        gradients. Returns out (K, fan_out, B)."""
        self.x, self.x1 = x, x1 if self.fused else None
        self.out = x.new_empty(x.shape[0], self.weight.shape[2], x.shape[2])
        if self.x1 is not None:
            plan_matmul(tape, self.wt, self.x1, self.out)
        else:
            bias = None if self.bias is None else self.bias.transpose(1, 2)
            plan_matmul(tape, self._wt(), x, self.out, bias=bias)
        return self.out

    def plan_backward(self, tape, dout: torch.Tensor, apply: bool = False) -> torch.Tensor:
        """dx in the memory layout of x (the first layer's input is the batch-major
        embedding), and the weight gradient into .grad; with ``apply``, dout already
        carries -lr (engine.Step.apply) and the weight gradient is added to the weight
        itself, after dx has used the old weight. A separate bias gradient goes to .grad."""
        K, fan_in, B = self.x.shape
        if self.x.stride(1) == 1:  # batch-major x: dx^T = dout^T @ W^T, contiguous
            dx_t = dout.new_empty(K, B, fan_in)
            plan_matmul(tape, dout.transpose(1, 2), self._wt(), dx_t)
            dx = dx_t.transpose(1, 2)
        else:
            dx = dout.new_empty(K, fan_in, B)
            plan_matmul(tape, self._wt().transpose(1, 2), dout, dx)
        x = self.x1 if self.x1 is not None else self.x
        w = self.wt if apply else self.wt.grad
        plan_matmul(tape, dout, x.transpose(1, 2), w, accumulate=apply)
        if self.x1 is None and self.bias is not None:
            tape.add(torch.sum, dout, 2, keepdim=True, out=self.bias.grad.transpose(1, 2))
        return dx

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

    def plan(self, tape, x: torch.Tensor) -> torch.Tensor:
        """x (K, dim, B), contiguous. Training mode: ATen's fused batch norm, x seen as
        (1, K*dim, B), one call instead of ~12. Eval mode: x * scale + shift with the
        running statistics folded in once. With eps == 0 ATen returns 0 where the lecture's
        formula gives 0/0 = NaN, so that case runs the readable form."""
        if self.eps == 0:
            return plan_eager(self, tape, x)
        if not self.training:
            scale = self.gamma * torch.rsqrt(self.running_var + self.eps)  # (K, 1, dim)
            shift = self.beta - self.running_mean * scale
            self.out = torch.empty_like(x)
            tape.add(torch.addcmul, shift.mT, x, scale.mT, out=self.out)
            return self.out
        K, D, B = x.shape
        self._x = x.view(1, K * D, B)
        self._save = (x.new_empty(K * D), x.new_empty(K * D))
        self.out = torch.empty_like(x)
        stats = (self.running_mean.view(-1), self.running_var.view(-1))
        tape.add(
            torch.native_batch_norm,
            self._x,
            self.gamma.view(-1),
            self.beta.view(-1),
            *stats,
            True,
            self.momentum,
            self.eps,
            out=(self.out.view(1, K * D, B), *self._save),
        )
        return self.out

    def plan_backward(self, tape, dout: torch.Tensor) -> torch.Tensor:
        if self.eps == 0:
            return plan_eager_backward(self, tape, dout)
        dx = torch.empty_like(dout)
        tape.add(
            torch.ops.aten.native_batch_norm_backward.out,
            dout.view(self._x.shape),
            self._x,
            self.gamma.view(-1),
            self.running_mean.view(-1),
            self.running_var.view(-1),
            *self._save,
            True,
            self.eps,
            [True, True, True],
            out0=dx.view(self._x.shape),
            out1=self.gamma.grad.view(-1),
            out2=self.beta.grad.view(-1),
        )
        return dx

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
        self.dout = dout  # kept for the diagnostics (activation-gradient histograms)
        return dout * self.df(self.out)

    def plan(self, tape, x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        self.out = torch.empty_like(x) if out is None else out
        tape.add(self.f_out[0], x, *self.f_out[1:], out=self.out)
        return self.out

    def plan_backward(self, tape, dout: torch.Tensor) -> torch.Tensor:
        self.dout, dx = dout, torch.empty_like(dout)
        tape.add(self.fused_df, dout, self.out, *self.fused_args, grad_input=dx)
        return dx

    def named_parameters(self) -> list:
        return []


class Tanh(_Activation):
    name = "tanh"
    f = staticmethod(torch.tanh)
    f_out = (torch.tanh,)  # the same with an out= argument
    fused_df, fused_args = torch.ops.aten.tanh_backward.grad_input, ()  # dout * (1 - out^2)

    @staticmethod
    def df(out):
        return 1 - out * out


class Sigmoid(_Activation):
    name = "sigmoid"
    f = staticmethod(torch.sigmoid)
    f_out = (torch.sigmoid,)
    fused_df, fused_args = torch.ops.aten.sigmoid_backward.grad_input, ()  # dout*out*(1-out)

    @staticmethod
    def df(out):
        return out * (1 - out)


class ReLU(_Activation):
    name = "relu"
    f = staticmethod(torch.relu)
    f_out = (torch.clamp_min, 0.0)  # torch.relu has no out=
    fused_df, fused_args = torch.ops.aten.threshold_backward.grad_input, (0,)  # dout*(out>0)

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
        self.dout = dout
        dx = torch.empty_like(dout)
        for k, idx in self.groups.items():
            dx[idx] = self.acts[k].backward(dout[idx])
        return dx

    def _ranges(self) -> list[tuple[str, slice]] | None:
        """Each kind's runs as one slice of K, or None when a kind's runs are not adjacent."""
        out = [(k, slice(idx[0], idx[-1] + 1)) for k, idx in self.groups.items()]
        return out if all(s.stop - s.start == len(self.groups[k]) for k, s in out) else None

    def plan(self, tape, x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        ranges = self._ranges()
        if ranges is None:
            return plan_eager(self, tape, x, out)
        self.out = torch.empty_like(x) if out is None else out
        for kind, r in ranges:
            act = self.acts[kind]
            tape.add(act.f_out[0], x[r], *act.f_out[1:], out=self.out[r])
            act.out = self.out[r]
        return self.out

    def plan_backward(self, tape, dout: torch.Tensor) -> torch.Tensor:
        ranges = self._ranges()
        if ranges is None:
            return plan_eager_backward(self, tape, dout)
        self.dout, dx = dout, torch.empty_like(dout)
        for kind, r in ranges:
            act = self.acts[kind]
            tape.add(act.fused_df, dout[r], self.out[r], *act.fused_args, grad_input=dx[r])
        return dx

    def named_parameters(self) -> list:
        return []


def plan_matmul(tape, a, b, out, bias=None, accumulate: bool = False) -> None:
    """out = a @ b (+ bias), or out += a @ b, batched over the leading run dimension.
    A single run uses 2-D BLAS calls: ~8% faster than bmm at the lecture's sizes."""
    if a.shape[0] == 1:
        a, b, out, bias = a[0], b[0], out[0], None if bias is None else bias[0]
        if accumulate:
            tape.add(out.addmm_, a, b)
        elif bias is None:
            tape.add(torch.mm, a, b, out=out)
        else:
            tape.add(torch.addmm, bias, a, b, out=out)
    elif accumulate:
        tape.add(out.baddbmm_, a, b)
    elif bias is None:
        tape.add(torch.bmm, a, b, out=out)
    else:
        tape.add(torch.baddbmm, bias, a, b, out=out)


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
