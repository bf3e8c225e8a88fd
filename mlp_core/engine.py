"""One SGD step of K stacked runs (forward, hand-written backward, update), and evaluation.

Both are planned once as tapes of ``out=`` torch calls over buffers allocated up front
(tape.py); per step only the calls that read the minibatch (embedding, loss, its gradient,
the embedding's gradient) take it as an argument. Buffers are feature-major, (K,
features, B), and a Linear's weight is stored (K, fan_out, fan_in) (layers.py). Every
parameter lives in one flat buffer and every gradient in another. A step either keeps its
gradients (``Step.__call__``, then ``update()``: one op for all parameters of all runs),
or, when nothing reads them, applies them as the backward pass makes them
(``Step.apply``: the loss gradient carries -lr, each weight gradient is added into its
weight). The maths is the layers' own, checked against a plain autograd loop in
tests/test_engine.py; README "Speed" has the measurements behind each choice.
"""

from __future__ import annotations

import torch

from .layers import Linear, MixedActivation, _Activation
from .model import MLP, cross_entropy
from .tape import Tape

EVAL_ROWS = 2048  # rows per eval chunk across the stack: buffers stay in cache (DESIGN §6)


def flatten(model: MLP) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Move every parameter into one buffer (each stays (K, ...), now a view of it) and give
    each a .grad view of a second buffer; returns both buffers and where the parameters
    that Step.apply updates with a separate op begin (biases outside a weight block, BN's
    gamma and beta: all together at the end, so that one op updates them all).

    A Linear's weight is stored as layer.wt (K, fan_out, fan_in), .weight its transposed
    view; a Linear with a bias right after an activation gets the bias as wt's last
    column, (K, fan_out, fan_in + 1): its input then carries a row of ones and needs no
    separate bias op."""
    sizes = {name: p.numel() for name, p in model.named_parameters()}
    flat = model.C.new_empty(sum(sizes.values()))
    grads = torch.zeros_like(flat)
    named = model.named_parameters()
    matrices = [(n, p) for n, p in named if n == "C" or n.endswith(".weight")]
    rest = [(n, p) for n, p in named if n != "C" and not n.endswith(".weight")]
    offset = 0
    for i, (name, p) in enumerate(matrices + rest):
        if i == len(matrices):
            rest_start = offset
        layer = _owner(model, name)
        fused = isinstance(layer, Linear) and _fuses(model, name)
        if name.endswith(".bias") and fused:
            continue  # placed with its weight
        n = p.numel() + (sizes[name[: -len("weight")] + "bias"] if fused else 0)
        block, gblock = flat[offset : offset + n], grads[offset : offset + n]
        offset += n
        if not name.endswith(".weight"):
            model.set_parameter(name, _adopt(block.view_as(p), gblock.view_as(p), p))
            continue
        K, fan_in, fan_out = p.shape
        layer.fused, layer.wt = fused, block.view(K, fan_out, -1)
        layer.wt.grad = gblock.view(K, fan_out, -1)
        layer.weight = _adopt(layer.wt[:, :, :fan_in].mT, layer.wt.grad[:, :, :fan_in].mT, p)
        if fused:
            b = layer.bias
            layer.bias = _adopt(layer.wt[:, :, fan_in:].mT, layer.wt.grad[:, :, fan_in:].mT, b)
    return flat, grads, rest_start if rest else offset


def _owner(model: MLP, name: str):
    return model.layers[int(name.split(".")[1])] if name.startswith("layers.") else None


def _fuses(model: MLP, name: str) -> bool:
    """Is this the weight (or bias) of a Linear with a bias whose input is an activation's
    output?"""
    i = int(name.split(".")[1])
    acts = (_Activation, MixedActivation)
    return model.layers[i].bias is not None and i > 0 and isinstance(model.layers[i - 1], acts)


def _adopt(view: torch.Tensor, grad: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    view.copy_(p)
    view.grad = grad
    return view


def plan_layers(model: MLP, tape: Tape, x: torch.Tensor) -> torch.Tensor:
    """The layers' forward, in the model's current mode, from the embeddings x
    (K, block_size * n_embd, n), any layout; returns the logits buffer (K, vocab_size, n).
    Buffers are feature-major (layers.py)."""
    x1 = None  # the previous activation's output over a row of ones, for a fused Linear
    for i, layer in enumerate(model.layers):
        if isinstance(layer, Linear):
            x, x1 = layer.plan(tape, x, x1), None
            continue
        nxt = model.layers[i + 1] if i + 1 < len(model.layers) else None
        if isinstance(nxt, Linear) and nxt.fused:
            K, D, n = x.shape
            x1 = x.new_ones(K, D + 1, n)
            x = layer.plan(tape, x, x1[:, :D])
        else:
            x = layer.plan(tape, x)
    return x


def target_grads(Y: torch.Tensor, vocab_size: int, dtype: torch.dtype) -> torch.Tensor:
    """G (..., vocab_size, B) = -onehot(Y) / B for targets Y (..., B), feature-major:
    d(mean loss)/d(log-probs); the gradient with respect to the logits is then
    softmax/B + G."""
    G = torch.zeros(*Y.shape[:-1], vocab_size, Y.shape[-1], dtype=dtype, device=Y.device)
    return G.scatter_(-2, Y.unsqueeze(-2), -1.0 / Y.shape[-1])


class Step:
    """Call with a minibatch to run forward and backward, leaving every gradient in .grad;
    then ``update()``. Or ``apply()``: the same step with -lr folded into the loss
    gradient, each weight gradient added straight to its weight, no gradient kept."""

    def __init__(self, model: MLP, batch_size: int):
        self.model, K = model, model.K
        self.flat, self.grads, rest = flatten(model)
        self.rest, self.rest_grads = self.flat[rest:], self.grads[rest:]
        E = model.C.shape[2]
        self.C, self.dC = model.C.view(-1, E), model.C.grad.view(-1, E)
        self.emb = model.C.new_empty(K * batch_size * model.block_size, E)
        self.forward = Tape()
        logits = plan_layers(model, self.forward, self.emb.view(K, batch_size, -1).mT)
        self.logp = torch.empty_like(logits)  # (K, vocab_size, B)
        self.forward.add(torch.log_softmax, logits, 1, out=self.logp)
        self.dlogits = torch.empty_like(logits)
        # the applying tape first: the layers keep the buffers of the last one planned,
        # and the diagnostics read those of the gradient tape
        self.backward_apply, self.demb_apply = self._plan_backward(apply=True)
        self.backward, self.demb = self._plan_backward(apply=False)
        self._bound = [  # what the diagnostics read, as (K, B, features) views
            (layer, layer.out.mT, layer.dout.mT)
            for layer in model.layers
            if isinstance(layer, (_Activation, MixedActivation)) and hasattr(layer, "dout")
        ]
        self._params = model.parameters()
        self.neg_lr: torch.Tensor | float = 0.0

    def _plan_backward(self, apply: bool) -> tuple[Tape, torch.Tensor]:
        tape, d = Tape(), self.dlogits
        for layer in reversed(self.model.layers):
            if isinstance(layer, Linear):
                d = layer.plan_backward(tape, d, apply=apply)
            else:
                d = layer.plan_backward(tape, d)
        return tape, d.mT.view(-1, self.C.shape[1])  # the first dx is batch-major

    def __call__(self, X: torch.Tensor, Y: torch.Tensor, G: torch.Tensor, logp_Y: torch.Tensor):
        """Forward and backward of one minibatch per run. X (K*B*block_size,): contexts,
        offset by k * vocab_size; Y (K, 1, B): targets; G (K, vocab_size, B): their
        target_grads. logp_Y (K, 1, B) receives log p(target): the loss is -logp_Y.mean."""
        self._forward_and_loss_grad(X, Y, G, logp_Y)
        self.backward()
        self.dC.zero_()
        self.dC.index_add_(0, X, self.demb)

    def apply(self, X: torch.Tensor, Y: torch.Tensor, G: torch.Tensor, logp_Y: torch.Tensor):
        """A whole SGD step, update included, when nothing needs the gradients: G is
        target_grads times -lr of each run, so every gradient the backward pass
        computes is already the update. Saves the gradient buffer's write and re-read."""
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
        torch._log_softmax_backward_data(G, self.logp, 1, G.dtype, out=self.dlogits)

    def set_lr(self, lr: torch.Tensor) -> None:
        """lr (K,): each run's learning rate from now on (0 freezes a run)."""
        if bool((lr == lr[0]).all()):
            self.neg_lr = -float(lr[0])
            return
        self.neg_lr = torch.empty_like(self.flat)  # -lr of each element's run
        base = self.flat.storage_offset()
        for p in self._params:
            same = self.neg_lr.as_strided(p.shape, p.stride(), p.storage_offset() - base)
            same.copy_((-lr).to(p).view(-1, *[1] * (p.dim() - 1)).expand_as(p))

    def update(self) -> None:
        if isinstance(self.neg_lr, float):
            self.flat.add_(self.grads, alpha=self.neg_lr)
        else:
            self.flat.addcmul_(self.grads, self.neg_lr)

    def grad_norms(self) -> torch.Tensor:
        """(n_params, K) gradient norms of every parameter of every run, summed in float64:
        squares of float32 round-off gradients (~1e-22, sigmoid at zero init) underflow."""
        return torch.stack(
            [
                torch.linalg.vector_norm(p.grad, dim=tuple(range(1, p.dim())), dtype=torch.float64)
                for p in self._params
            ]
        )

    def bind(self) -> None:
        """Point the activation layers' .out/.dout (what the diagnostics read) at this
        step's buffers again: an evaluation in between rebinds them to its own."""
        for layer, out, dout in self._bound:
            layer.out, layer.dout = out, dout


class _EvalChunk:
    """The eval-mode forward and loss of n rows, the same rows for every run."""

    def __init__(self, model: MLP, n: int, block_size: int):
        K, V, _ = model.C.shape
        self.offsets = torch.arange(K, device=model.C.device).view(K, 1, 1) * V
        self.idx = torch.zeros(K, n, block_size, dtype=torch.long, device=model.C.device)
        self.Y = torch.zeros(K, 1, n, dtype=torch.long, device=model.C.device)
        self.loglik = torch.zeros(K, dtype=torch.float64, device=model.C.device)
        self.tape = Tape()
        E = model.C.shape[2]
        emb = model.C.new_empty(self.idx.numel(), E)
        self.tape.add(torch.index_select, model.C.view(-1, E), 0, self.idx.view(-1), out=emb)
        logits = plan_layers(model, self.tape, emb.view(K, n, -1).mT)
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
def evaluate(model: MLP, X: torch.Tensor, Y: torch.Tensor) -> list[float]:
    """Mean loss per run over all rows of (X, Y), eval mode, in cache-sized chunks. Works
    for any model called like MLP; layers without a plan run through model(X). Each BN's
    mode is put back as it was."""
    modes = [(layer, layer.training) for layer in model.layers if hasattr(layer, "training")]
    model.set_training(False)
    try:
        if all(hasattr(layer, "plan") for layer in model.layers):
            total = _planned_loglik(model, X, Y)
        else:
            total = _loglik(model, X, Y)
    finally:
        for layer, training in modes:
            layer.training = training
    return (-total / len(Y)).tolist()


def _planned_loglik(model: MLP, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    n = min(len(Y), max(256, EVAL_ROWS // model.K))
    chunk, total = _EvalChunk(model, n, X.shape[1]), torch.zeros(model.K, dtype=torch.float64)
    full = len(Y) // n * n
    for i in range(0, full, n):
        total += chunk(X[i : i + n], Y[i : i + n]).cpu()
    if full < len(Y):
        total += _EvalChunk(model, len(Y) - full, X.shape[1])(X[full:], Y[full:]).cpu()
    return total


def _loglik(model, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    total = torch.zeros(model.K, dtype=torch.float64)
    for i in range(0, len(Y), EVAL_ROWS):
        xb, yb = X[i : i + EVAL_ROWS], Y[i : i + EVAL_ROWS]
        loss = cross_entropy(model(xb.expand(model.K, *xb.shape)), yb.expand(model.K, -1))
        total -= loss.double().cpu() * len(yb)
    return total
