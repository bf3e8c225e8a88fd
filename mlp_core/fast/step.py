"""One SGD step of K stacked runs: forward, backward, update, planned once.

``Step(model, batch_size)`` copies the model's parameters into one flat buffer (and its
BatchNorm running statistics into tensors of its own) and trains those: ``step.model`` is
a readable MLP over them, the one to evaluate, inspect and save; the model the step was
built from is never changed. Every gradient lives in a second flat buffer.

A step either keeps its gradients (``step(...)``, then ``update(lr)``: one op for all
parameters of all runs), or, when nothing reads them, applies them as the backward pass
makes them (``apply``: the loss gradient carries -lr, each weight gradient is added into
its weight). All of the -lr scaling lives here: ``targets`` folds it into the loss
gradients of the steps that apply, ``update`` into the others. ARCHITECTURE.md "The fast
path" has the layout and the measurements behind it.
"""

from __future__ import annotations

import copy

import torch

from ..layers import BatchNorm1d, Linear, MixedActivation, _Activation
from ..model import MLP, layer_index
from .evaluate import evaluate
from .kernels import ACTIVATION_KERNELS, kernels_for, plan_backward, plan_forward
from .tape import Tape


def target_grads(Y: torch.Tensor, vocab_size: int, dtype: torch.dtype) -> torch.Tensor:
    """G (..., vocab_size, B) = -onehot(Y) / B for targets Y (..., B), feature-major:
    d(mean loss)/d(log-probs); the gradient with respect to the logits is then
    softmax/B + G."""
    G = torch.zeros(*Y.shape[:-1], vocab_size, Y.shape[-1], dtype=dtype, device=Y.device)
    return G.scatter_(-2, Y.unsqueeze(-2), -1.0 / Y.shape[-1])


def _own_copy(model: MLP) -> MLP:
    """A copy of the model sharing no tensor that training writes: its BN running statistics
    cloned, its parameters about to be replaced by views of the flat buffer."""
    own = copy.copy(model)
    own.layers = [
        copy.copy(layer) if isinstance(layer, (Linear, BatchNorm1d)) else copy.deepcopy(layer)
        for layer in model.layers
    ]
    for layer in own.layers:
        if isinstance(layer, BatchNorm1d):
            layer.running_mean = layer.running_mean.clone()
            layer.running_var = layer.running_var.clone()
    return own


def _fuses(model: MLP, i: int) -> bool:
    """Is layer i a Linear with a bias whose input is an activation's output? Its bias then
    becomes the last column of its weight block."""
    acts = (_Activation, MixedActivation)
    layer = model.layers[i]
    return (
        isinstance(layer, Linear)
        and layer.bias is not None
        and i > 0
        and isinstance(model.layers[i - 1], acts)
    )


def _adopt(view: torch.Tensor, grad: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """view, holding p's values, with grad as its .grad."""
    view.copy_(p)
    view.grad = grad
    return view


def _set(model: MLP, name: str, t: torch.Tensor) -> None:
    i = layer_index(name)
    if i is None:
        model.C = t
    else:
        setattr(model.layers[i], name.split(".")[2], t)


def flatten(model: MLP):
    """A copy of the model whose parameters are views of one flat buffer, each with a .grad
    view of a second; returns (copy, flat, grads, rest, fused). Weights come first (C, then
    each Linear's, stored (K, fan_out, fan_in): .weight is its transposed view), then from
    offset ``rest`` the parameters that Step.apply updates with one separate op (biases
    outside a weight block, BN's gamma and beta). ``fused``: layer index -> weight block
    (K, fan_out, fan_in + 1) of each Linear right after an activation, its bias the last
    column: its input then carries a row of ones and needs no separate bias op."""
    own = _own_copy(model)
    named = own.named_parameters()
    sizes = {name: p.numel() for name, p in named}
    flat = own.C.new_empty(sum(sizes.values()))
    grads = torch.zeros_like(flat)
    matrices = [(n, p) for n, p in named if n == "C" or n.endswith(".weight")]
    rest = [(n, p) for n, p in named if n != "C" and not n.endswith(".weight")]
    offset, rest_start, fused = 0, None, {}
    for j, (name, p) in enumerate(matrices + rest):
        if j == len(matrices):
            rest_start = offset
        i = layer_index(name)
        fuses = i is not None and _fuses(own, i)
        if name.endswith(".bias") and fuses:
            continue  # placed with its weight
        n = p.numel() + (sizes[name[: -len("weight")] + "bias"] if fuses else 0)
        block, gblock = flat[offset : offset + n], grads[offset : offset + n]
        offset += n
        if not name.endswith(".weight"):
            _set(own, name, _adopt(block.view_as(p), gblock.view_as(p), p))
            continue
        layer, (K, fan_in, fan_out) = own.layers[i], p.shape
        wt, gt = block.view(K, fan_out, -1), gblock.view(K, fan_out, -1)
        layer.weight = _adopt(wt[:, :, :fan_in].mT, gt[:, :, :fan_in].mT, p)
        if fuses:
            wt.grad, fused[i] = gt, wt
            layer.bias = _adopt(wt[:, :, fan_in:].mT, gt[:, :, fan_in:].mT, layer.bias)
    return own, flat, grads, offset if rest_start is None else rest_start, fused


class Step:
    """``step(X, Y, G, logp_Y)`` runs forward and backward of one minibatch per run,
    leaving every gradient in .grad; then ``update(lr)``. Or ``apply(...)``: the same step
    with -lr folded into G (``targets``), each weight gradient added straight to its
    weight, no gradient kept."""

    def __init__(self, model: MLP, batch_size: int):
        self.model, self.flat, self.grads, rest, self._fused = flatten(model)
        own, K = self.model, model.K
        self.rest, self.rest_grads = self.flat[rest:], self.grads[rest:]
        self.vocab_size, E = own.C.shape[1], own.C.shape[2]
        self.C, self.dC = own.C.view(-1, E), own.C.grad.view(-1, E)
        self.emb = own.C.new_empty(K * batch_size * own.block_size, E)
        kernels = kernels_for(own.layers, training=True, fused=self._fused)
        self.forward = Tape()
        outs = plan_forward(kernels, self.forward, self.emb.view(K, batch_size, -1).mT)
        self.logp = torch.empty_like(outs[-1])  # (K, vocab_size, B)
        self.forward.add(torch.log_softmax, outs[-1], 1, out=self.logp)
        self.dlogits = torch.empty_like(outs[-1])
        self.backward_apply, self.demb_apply, _ = self._plan_backward(kernels, apply=True)
        self.backward, self.demb, douts = self._plan_backward(kernels, apply=False)
        self._activations = {  # (K, B, features) views of the gradient step's buffers
            i: (outs[i].mT, douts[i].mT)
            for i, kernel in enumerate(kernels)
            if isinstance(kernel, ACTIVATION_KERNELS)
        }
        self._params = own.parameters()
        self._lr: list[float] | None = None  # the lrs update() applies now
        self._neg_lr: torch.Tensor | float = 0.0

    def _plan_backward(self, kernels: list, apply: bool):
        tape = Tape()
        demb, douts = plan_backward(kernels, tape, self.dlogits, apply)
        return tape, demb.mT.view(-1, self.C.shape[1]), douts  # the first dx is batch-major

    def targets(self, Y: torch.Tensor, lr: torch.Tensor, keep: list[int]) -> torch.Tensor:
        """G (n, K, vocab_size, B) for n minibatches of targets Y (n, K, B), each run's lr
        (n, K) at those steps: target_grads, times -lr for every step not in ``keep`` (the
        steps that run as apply)."""
        scale = -lr
        scale[keep] = 1.0
        G = target_grads(Y, self.vocab_size, self.flat.dtype)
        return G.mul_(scale.to(G.device).view(*lr.shape, 1, 1))

    def __call__(self, X: torch.Tensor, Y: torch.Tensor, G: torch.Tensor, logp_Y: torch.Tensor):
        """Forward and backward of one minibatch per run. X (K*B*block_size,): contexts,
        offset by k * vocab_size; Y (K, 1, B): targets; G (K, vocab_size, B): their
        target_grads. logp_Y (K, 1, B) receives log p(target): the loss is -logp_Y.mean."""
        self._forward_and_loss_grad(X, Y, G, logp_Y)
        self.backward()
        self.dC.zero_()
        self.dC.index_add_(0, X, self.demb)

    def apply(self, X: torch.Tensor, Y: torch.Tensor, G: torch.Tensor, logp_Y: torch.Tensor):
        """A whole SGD step, update included, when nothing needs the gradients: G carries -lr
        (``targets``), so every gradient the backward pass computes is already the update.
        Saves the gradient buffer's write and re-read."""
        self._forward_and_loss_grad(X, Y, G, logp_Y)
        self.backward_apply()
        self.C.index_add_(0, X, self.demb_apply)
        if self.rest.numel():
            self.rest.add_(self.rest_grads)

    def _forward_and_loss_grad(self, X, Y, G, logp_Y) -> None:
        """Embedding, forward, log p(target) into logp_Y, and the logits' gradient."""
        torch.index_select(self.C, 0, X, out=self.emb)
        self.forward()
        torch.gather(self.logp, 1, Y, out=logp_Y)
        # _log_softmax_backward_data(G, logp): dlogits = G - softmax · Σ_vocab G, with
        # softmax = exp(logp); G = -onehot/B (times -lr) sums to -1/B over the vocabulary,
        # so dlogits = softmax/B - onehot/B: model.cross_entropy_backward, fused
        torch._log_softmax_backward_data(G, self.logp, 1, G.dtype, out=self.dlogits)

    def update(self, lr: torch.Tensor) -> None:
        """parameters -= lr * gradients; lr (K,): each run's learning rate (0 freezes one)."""
        if lr.tolist() != self._lr:
            self._lr = lr.tolist()
            self._set_lr(lr)
        if isinstance(self._neg_lr, float):
            self.flat.add_(self.grads, alpha=self._neg_lr)
        else:
            self.flat.addcmul_(self.grads, self._neg_lr)

    def _set_lr(self, lr: torch.Tensor) -> None:
        if bool((lr == lr[0]).all()):
            self._neg_lr = -float(lr[0])
            return
        self._neg_lr = torch.empty_like(self.flat)  # -lr of each element's run
        base = self.flat.storage_offset()
        for p in self._params:
            same = self._neg_lr.as_strided(p.shape, p.stride(), p.storage_offset() - base)
            same.copy_((-lr).to(p).view(-1, *[1] * (p.dim() - 1)).expand_as(p))

    def activations(self) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
        """Layer index -> (output, gradient at the output), (K, B, features) views, of every
        activation layer, as the last ``step(...)`` left them (what the diagnostics read)."""
        return self._activations

    def grad_norms(self) -> torch.Tensor:
        """(n_params, K) gradient norms of every parameter of every run, summed in float64:
        squares of float32 round-off gradients (~1e-22, sigmoid at zero init) underflow."""
        return torch.stack(
            [
                torch.linalg.vector_norm(p.grad, dim=tuple(range(1, p.dim())), dtype=torch.float64)
                for p in self._params
            ]
        )

    def evaluate(self, X: torch.Tensor, Y: torch.Tensor) -> list[float]:
        """Mean eval-mode loss per run of the model being trained (evaluate.evaluate)."""
        return evaluate(self.model, X, Y, fused=self._fused)
