"""BatchNorm folding, the algebra. In eval mode a BN is a fixed per-feature affine map
y = x * s + t, so the Linear beside it can absorb it and the BN can be erased.

Backward, BN right after a Linear (the lecture's layout, weights (fan_in, fan_out)):
    s = gamma / sqrt(running_var + eps);  W' = W * s (column j times s_j);
    b' = (b - running_mean) * s + beta    (b = 0 when the Linear has no bias)
Forward, BN after an activation and right before a Linear:
    W' = W * s^T (row i times s_i);  b' = b + (beta - running_mean * s) @ W
What cannot be folded: a BN in training mode (it normalises with each batch's own
statistics, so its output depends on the other rows of the batch: no fixed W', b' can
reproduce it), and a BN with no Linear on either side (e.g. between two nonlinearities),
which the folded model keeps, in eval mode.

Beside the algebra, round_off_scale: how far rounding can move an eval-mode net's logits,
which the fold's verdict (bn_fold_text) and Zero init's float64 measures
(zero_init_facts.wide_context) are judged against.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch

from .fast.evaluate import EVAL_ROWS
from .layers import BatchNorm1d, Linear
from .model import BaseMLP


class FoldError(ValueError):
    """A BatchNorm that cannot be folded: training mode, or a size mismatch."""


def bn_scale_shift(bn: BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    """The eval-mode BN as y = x * s + t; s and t are (K, 1, dim)."""
    if bn.training:
        raise FoldError(
            "cannot fold a BatchNorm in training mode: it normalises with each batch's own "
            "mean and variance, so its output depends on the rest of the batch and no fixed "
            "W', b' reproduces it; fold the eval-mode network (set_training(False))"
        )
    s = bn.gamma * torch.rsqrt(bn.running_var + bn.eps)
    return s, bn.beta - bn.running_mean * s


def _check_dim(want: int, bn: BatchNorm1d, side: str) -> None:
    if bn.gamma.shape[-1] != want:
        raise FoldError(f"BatchNorm1d({bn.gamma.shape[-1]}) does not match the Linear's {side}")


@torch.no_grad()
def fold_linear_bn(linear: Linear, bn: BatchNorm1d) -> Linear:
    """A new Linear equal to bn(linear(x)) in eval mode (BN after the Linear)."""
    _check_dim(linear.weight.shape[2], bn, "fan_out")
    s = bn_scale_shift(bn)[0]  # (K, 1, fan_out)
    b = linear.bias if linear.bias is not None else torch.zeros_like(bn.running_mean)
    # the same expression as torch's fuse_linear_bn_weights, so both round alike
    return Linear(linear.weight * s, (b - bn.running_mean) * s + bn.beta)


@torch.no_grad()
def fold_bn_linear(bn: BatchNorm1d, linear: Linear) -> Linear:
    """A new Linear equal to linear(bn(x)) in eval mode (BN before the Linear)."""
    _check_dim(linear.weight.shape[1], bn, "fan_in")
    s, t = bn_scale_shift(bn)  # (K, 1, fan_in)
    shift = torch.bmm(t, linear.weight)  # (K, 1, fan_out): what the BN's shift adds
    bias = shift if linear.bias is None else linear.bias + shift
    return Linear(linear.weight * s.transpose(1, 2), bias)


def describe(layer, primed: bool = False) -> str:
    """One layer in words, e.g. "Linear'(30→100, bias)" for a Linear that absorbed a BN."""
    if isinstance(layer, Linear):
        _, fan_in, fan_out = layer.weight.shape
        bias = ", bias" if layer.bias is not None else ""
        return f"Linear{chr(39) if primed else ''}({fan_in}→{fan_out}{bias})"
    if isinstance(layer, BatchNorm1d):
        return f"BatchNorm1d({layer.gamma.shape[-1]})"
    return getattr(layer, "name", type(layer).__name__)


def _copy(layer, dtype: torch.dtype | None = None):
    """An independent copy (its tensors in dtype, when given), so running the folded model
    never touches the original."""

    def own(t: torch.Tensor) -> torch.Tensor:
        return t.to(dtype or t.dtype, copy=True)

    if isinstance(layer, Linear):
        return Linear(own(layer.weight), None if layer.bias is None else own(layer.bias))
    if isinstance(layer, BatchNorm1d):
        bn = copy.copy(layer)
        bn.gamma, bn.beta = own(layer.gamma), own(layer.beta)
        bn.running_mean, bn.running_var = own(layer.running_mean), own(layer.running_var)
        return bn
    return copy.deepcopy(layer)


@dataclass
class FoldedMLP(BaseMLP):
    """An MLP with its BatchNorms folded away; called like MLP: X (K, B, block_size) ->
    logits (K, B, vocab_size). Inference only."""

    C: torch.Tensor  # (K, vocab_size, n_embd)
    layers: list
    folds: list[str] = field(default_factory=list)  # one line per BN folded, and where to
    kept: list[str] = field(default_factory=list)  # BNs that could not be folded, and why
    primed: set[int] = field(default_factory=set)  # indices of Linears that absorbed a BN

    @property
    def K(self) -> int:
        return self.C.shape[0]

    def set_training(self, training: bool) -> None:
        """No-op: the folded net only does inference; kept BNs stay in eval mode."""

    def architecture(self) -> list[str]:
        return [describe(layer, i in self.primed) for i, layer in enumerate(self.layers)]


def _next_is_linear(layers: list, i: int) -> bool:
    return i + 1 < len(layers) and isinstance(layers[i + 1], Linear)


def fold_layers(layers: list) -> FoldedMLP:
    """Fold every foldable BN of a layer list (see the module doc); C is left empty."""
    for layer in layers:
        if isinstance(layer, BatchNorm1d):
            bn_scale_shift(layer)  # refuses training mode before anything is built
    f = FoldedMLP(torch.empty(0), [])
    pending = None  # (index, BN) waiting to be folded forward into the next Linear
    for i, layer in enumerate(layers):
        if isinstance(layer, Linear):
            if pending:
                layer = fold_bn_linear(pending[1], layer)
                f.folds.append(
                    f"layers.{pending[0]} {describe(pending[1])} → forward into "
                    f"layers.{i} Linear (rows)"
                )
                f.primed.add(len(f.layers))
                pending = None
            f.layers.append(_copy(layer))
        elif isinstance(layer, BatchNorm1d) and i and isinstance(layers[i - 1], Linear):
            f.layers[-1] = fold_linear_bn(f.layers[-1], layer)
            f.primed.add(len(f.layers) - 1)
            f.folds.append(
                f"layers.{i} {describe(layer)} → back into layers.{i - 1} Linear (columns)"
            )
        elif isinstance(layer, BatchNorm1d) and _next_is_linear(layers, i):
            pending = (i, layer)
        elif isinstance(layer, BatchNorm1d):
            f.kept.append(
                f"layers.{i} {describe(layer)}: no Linear right before or after it "
                "(a nonlinearity is in the way), so it stays, in eval mode"
            )
            f.layers.append(_copy(layer))
        else:
            f.layers.append(_copy(layer))
    return f


def fold_model(model) -> FoldedMLP:
    """A new model with every foldable BN folded into a Linear and removed; the input model
    (an MLP in eval mode) is left unchanged."""
    folded = fold_layers(model.layers)
    folded.C = model.C.detach().clone()
    return folded


def copy_as(model, dtype: torch.dtype) -> FoldedMLP:
    """The same eval-mode net (nothing folded, BNs kept) with every tensor in dtype: the
    float64 reference that measures a float32 net's round-off."""
    layers = [_copy(layer, dtype) for layer in model.layers]
    return FoldedMLP(model.C.detach().to(dtype, copy=True), layers)


def count_params(model) -> int:
    """Parameters of one run (C, weights, biases, gammas, betas), buffers not included."""
    return sum(p[0].numel() for _, p in model.named_parameters())


def linear_bn_pairs(layers: list) -> list[tuple[int, Linear, BatchNorm1d]]:
    """Each (index of the Linear, Linear, BN) where a BN directly follows a Linear."""
    return [
        (i, a, b)
        for i, (a, b) in enumerate(zip(layers, layers[1:]))
        if isinstance(a, Linear) and isinstance(b, BatchNorm1d)
    ]


def torch_pair(linear: Linear, bn: BatchNorm1d, k: int):
    """Run k's Linear and BN as eval-mode torch.nn modules (torch's weight is (out, in))."""
    _, fan_in, fan_out = linear.weight.shape
    tk = {"dtype": linear.weight.dtype}
    lin = torch.nn.Linear(fan_in, fan_out, bias=linear.bias is not None, **tk).eval()
    ref = torch.nn.BatchNorm1d(fan_out, eps=bn.eps, **tk).eval()
    with torch.no_grad():
        lin.weight.copy_(linear.weight[k].T)
        if linear.bias is not None:
            lin.bias.copy_(linear.bias[k, 0])
        ref.weight.copy_(bn.gamma[k, 0])
        ref.bias.copy_(bn.beta[k, 0])
        ref.running_mean.copy_(bn.running_mean[k, 0])
        ref.running_var.copy_(bn.running_var[k, 0])
    return lin, ref


@torch.no_grad()
def torch_reference_diff(layers: list) -> float | None:
    """Largest |our folded W', b' - torch.nn.utils.fusion.fuse_linear_bn_eval's| over every
    Linear→BN pair and run; None when there is no such pair."""
    diffs = []
    for _, linear, bn in linear_bn_pairs(layers):
        ours = fold_linear_bn(linear, bn)
        for k in range(linear.weight.shape[0]):
            ref = torch.nn.utils.fusion.fuse_linear_bn_eval(*torch_pair(linear, bn, k))
            diffs.append(float((ours.weight[k] - ref.weight.T).abs().max()))
            diffs.append(float((ours.bias[k, 0] - ref.bias).abs().max()))
    return max(diffs) if diffs else None


def round_off_scale(model, X: torch.Tensor, chunk: int = EVAL_ROWS) -> float:
    """What rounding can move a logit by, in units of the precision's epsilon: the
    largest, over the rows of X and the logits, of a first-order bound that rounds every
    sum and every activation once. A Linear carries the bound in through |W| and adds its
    sum's terms, |x| @ |W| + |b|; an activation carries it by its slope and adds its
    output; a kept BatchNorm (eval mode) carries it by its scale and adds its terms.
    Computed on the net as it is, in float64: a fold's large terms that cancel (a BN of
    tiny variance scales its Linear up) count at their size, not at what is left of them."""
    out = 0.0
    for i in range(0, len(X), chunk):
        rows = X[i : i + chunk][None]
        x = model.C[torch.zeros_like(rows), rows].reshape(1, rows.shape[1], -1)
        e = torch.zeros_like(x)
        for layer in model.layers:
            if isinstance(layer, Linear):
                w = layer.weight.abs()
                b = 0 if layer.bias is None else layer.bias.abs()
                e = torch.bmm(e, w) + torch.bmm(x.abs(), w) + b
                x = layer(x)
            elif isinstance(layer, BatchNorm1d):
                s = (layer.gamma * torch.rsqrt(layer.running_var + layer.eps)).abs()
                e = (e + x.abs() + layer.running_mean.abs()) * s + layer.beta.abs()
                x = layer(x)
            else:  # an activation: its slope from its own backward
                y = layer(x)
                e = e * layer.backward(torch.ones_like(y)).abs() + y.abs()
                x = y
        out = max(out, float(e.max()))
    return out
