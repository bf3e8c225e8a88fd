"""Planned kernels: each layer type's forward and backward as ``out=`` torch calls added to
a tape, over buffers allocated at planning time.

A kernel is built from a readable layer (layers.py) and reads that layer's tensors; it
keeps its own buffers and never sets attributes on the layer. Buffers are feature-major,
(K, features, B): a Linear computes out = Wᵀ·x with its weight seen as (K, fan_out,
fan_in), so none of the three matmuls of a layer reads a transposed right operand, and an
activation writes one contiguous block (ARCHITECTURE.md "The fast path"). The maths is the
readable layers'; tests/test_engine.py holds the two together.
"""

from __future__ import annotations

import numpy as np
import torch

from ..layers import BatchNorm1d, Linear, MixedActivation, _Activation
from .tape import plan_eager, plan_eager_backward

aten = torch.ops.aten

# Per activation: the forward as a call with out=, and ATen's backward of the elementwise
# op, which reads the saved output:
#   tanh_backward(dout, out)            dx = dout * (1 - out²)
#   sigmoid_backward(dout, out)         dx = dout * out * (1 - out)
#   threshold_backward(dout, out, 0)    dx = dout where out > 0, else 0   (ReLU)
ACTIVATION_OPS = {
    "tanh": ((torch.tanh,), (aten.tanh_backward.grad_input,)),  # on the CPU: plan_tanh
    "sigmoid": ((torch.sigmoid,), (aten.sigmoid_backward.grad_input,)),
    "relu": ((torch.clamp_min, 0.0), (aten.threshold_backward.grad_input, 0)),  # no relu(out=)
}


def plan_matmul(tape, a, b, out, bias=None, accumulate: bool = False):
    """out = a @ b (+ bias), or out += a @ b, batched over the leading run dimension. A
    single run uses 2-D BLAS calls (mm beats bmm there: ARCHITECTURE.md)."""
    one = a.shape[0] == 1
    if one:
        a, b, out, bias = a[0], b[0], out[0], None if bias is None else bias[0]
    if accumulate:
        tape.add(out.addmm_ if one else out.baddbmm_, a, b)
    elif bias is None:
        tape.add(torch.mm if one else torch.bmm, a, b, out=out)
    else:
        tape.add(torch.addmm if one else torch.baddbmm, bias, a, b, out=out)


class LinearKernel:
    """out = Wᵀ·x + b. ``fused``: the weight block (K, fan_out, fan_in + 1) holding the bias
    as its last column (step.py lays it out so); the input then carries a row of ones (x1)
    and one matmul gives both gradients. ``first``: the input is the batch-major embedding."""

    def __init__(self, layer: Linear, fused: torch.Tensor | None = None, first: bool = False):
        self.layer, self.fused, self.first = layer, fused, first
        self.fan_in = layer.weight.shape[1]

    def _wt(self) -> torch.Tensor:  # (K, fan_out, fan_in)
        return self.layer.weight.mT

    def forward(self, tape, x: torch.Tensor, x1: torch.Tensor | None = None) -> torch.Tensor:
        """x (K, fan_in, B); x1 (K, fan_in + 1, B), x over a row of ones, when fused.
        Returns out (K, fan_out, B)."""
        self.x, self.x1 = x, x1 if self.fused is not None else None
        self.out = x.new_empty(x.shape[0], self.layer.weight.shape[2], x.shape[2])
        if self.x1 is not None:
            plan_matmul(tape, self.fused, self.x1, self.out)
        else:
            bias = None if self.layer.bias is None else self.layer.bias.mT
            plan_matmul(tape, self._wt(), x, self.out, bias=bias)
        return self.out

    def backward(self, tape, dout: torch.Tensor, apply: bool = False) -> torch.Tensor:
        """dx in the layout of x, and the weight gradient into the weight's .grad; with
        ``apply``, dout already carries -lr (step.py) and the gradient is added to the
        weight itself, after dx has used the old weight. A separate bias gradient goes to
        the bias's .grad."""
        K, fan_in, B = self.x.shape
        if self.first or B == 1:  # batch-major x (one column: both layouts are one)
            dx_t = dout.new_empty(K, B, fan_in)  # dxᵀ = doutᵀ·W, contiguous
            plan_matmul(tape, dout.mT, self._wt(), dx_t)
            dx = dx_t.mT
        else:
            dx = dout.new_empty(K, fan_in, B)
            plan_matmul(tape, self._wt().mT, dout, dx)
        if self.fused is None:
            w, x = (self._wt() if apply else self.layer.weight.grad.mT), self.x
        else:
            w, x = (self.fused if apply else self.fused.grad), self.x1
        plan_matmul(tape, dout, x.mT, w, accumulate=apply)
        if self.x1 is None and self.layer.bias is not None:
            tape.add(torch.sum, dout, 2, keepdim=True, out=self.layer.bias.grad.mT)
        return dx


class BatchNormKernel:
    """Training mode: ATen's fused batch norm over x seen as (1, K*dim, B), one call instead
    of ~12, updating the layer's running statistics in place. Eval mode: x * scale + shift
    with the running statistics folded in once. With eps == 0 ATen returns 0 where the
    lecture's formula gives 0/0 = NaN, so that case runs the readable layer."""

    def __init__(self, layer: BatchNorm1d, training: bool):
        self.bn, self.training = layer, training

    def forward(self, tape, x: torch.Tensor) -> torch.Tensor:
        """x (K, dim, B), contiguous."""
        bn = self.bn
        if bn.eps == 0:
            return plan_eager(bn, tape, x)
        out = torch.empty_like(x)
        if not self.training:
            scale = bn.gamma * torch.rsqrt(bn.running_var + bn.eps)  # (K, 1, dim)
            shift = bn.beta - bn.running_mean * scale
            tape.add(torch.addcmul, shift.mT, x, scale.mT, out=out)
            return out
        K, D, B = x.shape
        self._x = x.view(1, K * D, B)
        self._save = (x.new_empty(K * D), x.new_empty(K * D))  # batch mean, 1/sqrt(var+eps)
        # native_batch_norm(x, γ, β, running_mean, running_var, training, momentum, eps):
        # out = (x - mean) / sqrt(var + eps) * γ + β over the batch (biased var); running
        # stats lerp towards (mean, unbiased var) by momentum, as torch.nn.BatchNorm1d
        tape.add(
            torch.native_batch_norm,
            self._x,
            bn.gamma.view(-1),
            bn.beta.view(-1),
            bn.running_mean.view(-1),
            bn.running_var.view(-1),
            True,
            bn.momentum,
            bn.eps,
            out=(out.view(1, K * D, B), *self._save),
        )
        return out

    def backward(self, tape, dout: torch.Tensor, apply: bool = False) -> torch.Tensor:
        bn = self.bn
        if bn.eps == 0:
            return plan_eager_backward(bn, tape, dout)
        dx = torch.empty_like(dout)
        # native_batch_norm_backward, with x̂ = (x - mean) * rstd and n = B:
        #   dγ = Σ_B dout·x̂;  dβ = Σ_B dout;
        #   dx = γ·rstd/n · (n·dout - Σ_B dout - x̂·Σ_B dout·x̂)   (BatchNorm1d.backward)
        tape.add(
            aten.native_batch_norm_backward.out,
            dout.view(self._x.shape),
            self._x,
            bn.gamma.view(-1),
            bn.running_mean.view(-1),
            bn.running_var.view(-1),
            *self._save,
            True,
            bn.eps,
            [True, True, True],
            out0=dx.view(self._x.shape),
            out1=bn.gamma.grad.view(-1),
            out2=bn.beta.grad.view(-1),
        )
        return dx


def plan_tanh(tape, x: torch.Tensor, out: torch.Tensor) -> None:
    """out = tanh(x). On the CPU numpy's tanh, over the same memory (no copy): as accurate
    as ATen's (within 1 unit in the last place; tanh(0) = 0 exactly), and on the AVX-512
    EPYC this project runs on 6-7x faster (2.4 against 15.7 µs for a single run's 100x32
    layer; on the AVX2 EPYC measured before, about as fast: the gain depends on the CPU).
    The same op at every size and stack, so a run's numbers never depend on what it is
    stacked with (ARCHITECTURE.md). Elsewhere torch.tanh."""
    if x.device.type == "cpu":
        tape.add(np.tanh, x.detach().numpy(), out=out.detach().numpy())
    else:
        tape.add(torch.tanh, x, out=out)


def _plan_activation(tape, kind: str, x, out) -> None:
    if kind == "tanh":
        plan_tanh(tape, x, out)
    else:
        f = ACTIVATION_OPS[kind][0]
        tape.add(f[0], x, *f[1:], out=out)


class ActivationKernel:
    """An elementwise nonlinearity (ACTIVATION_OPS; tanh by plan_tanh); backward reads the
    saved output."""

    def __init__(self, kind: str):
        self.kind, self.df = kind, ACTIVATION_OPS[kind][1]

    def forward(self, tape, x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        self.out = torch.empty_like(x) if out is None else out
        _plan_activation(tape, self.kind, x, self.out)
        return self.out

    def backward(self, tape, dout: torch.Tensor, apply: bool = False) -> torch.Tensor:
        dx = torch.empty_like(dout)
        tape.add(self.df[0], dout, self.out, *self.df[1:], grad_input=dx)
        return dx


class MixedActivationKernel:
    """A different nonlinearity per run: one op per kind over its runs' slice of K when each
    kind's runs are adjacent (train.py stacks them so), else the readable layer."""

    def __init__(self, layer: MixedActivation):
        self.layer = layer
        ranges = [(k, slice(idx[0], idx[-1] + 1)) for k, idx in layer.groups.items()]
        adjacent = all(s.stop - s.start == len(layer.groups[k]) for k, s in ranges)
        self.ranges = ranges if adjacent else None

    def forward(self, tape, x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        if self.ranges is None:
            return plan_eager(self.layer, tape, x, out)
        self.out = torch.empty_like(x) if out is None else out
        for kind, r in self.ranges:
            _plan_activation(tape, kind, x[r], self.out[r])
        return self.out

    def backward(self, tape, dout: torch.Tensor, apply: bool = False) -> torch.Tensor:
        if self.ranges is None:
            return plan_eager_backward(self.layer, tape, dout)
        dx = torch.empty_like(dout)
        for kind, r in self.ranges:
            df = ACTIVATION_OPS[kind][1]
            tape.add(df[0], dout[r], self.out[r], *df[1:], grad_input=dx[r])
        return dx


ACTIVATION_KERNELS = (ActivationKernel, MixedActivationKernel)


def has_kernel(layer) -> bool:
    return isinstance(layer, (Linear, BatchNorm1d, _Activation, MixedActivation))


def kernels_for(layers: list, training: bool, fused: dict[int, torch.Tensor] | None = None):
    """One kernel per layer. fused: layer index -> the weight block of each Linear whose
    bias is stored as the block's last column (step.py)."""
    out = []
    for i, layer in enumerate(layers):
        if isinstance(layer, Linear):
            out.append(LinearKernel(layer, (fused or {}).get(i), first=i == 0))
        elif isinstance(layer, BatchNorm1d):
            out.append(BatchNormKernel(layer, training))
        elif isinstance(layer, MixedActivation):
            out.append(MixedActivationKernel(layer))
        else:
            out.append(ActivationKernel(layer.name))
    return out


def plan_forward(kernels: list, tape, x: torch.Tensor) -> list[torch.Tensor]:
    """The forward from the embeddings x (K, block_size * n_embd, n), batch-major; returns
    every layer's output buffer (K, features, n), the logits last. Only the activations'
    buffers are read outside the tapes."""
    outs, x1 = [], None  # x1: the last activation's output over a row of ones
    for i, kernel in enumerate(kernels):
        nxt = kernels[i + 1] if i + 1 < len(kernels) else None
        if isinstance(kernel, LinearKernel):
            x, x1 = kernel.forward(tape, x, x1), None
        elif isinstance(kernel, BatchNormKernel):
            x = kernel.forward(tape, x)
        elif isinstance(nxt, LinearKernel) and nxt.fused is not None:
            K, D, n = x.shape
            x1 = x.new_ones(K, D + 1, n)
            x = kernel.forward(tape, x, x1[:, :D])
        else:
            x = kernel.forward(tape, x)
        outs.append(x)
    return outs


def plan_backward(kernels: list, tape, dlogits: torch.Tensor, apply: bool):
    """The backward from the logits' gradient; returns the embeddings' gradient and the
    gradient at every layer's output (douts[i] for layer i)."""
    douts, d = [None] * len(kernels), dlogits
    for i in reversed(range(len(kernels))):
        douts[i] = d
        d = kernels[i].backward(tape, d, apply=apply)
    return d, douts
