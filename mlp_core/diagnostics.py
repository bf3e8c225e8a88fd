"""The lecture's diagnostics, for K stacked runs, captured at chosen steps.

Per activation layer: mean, std, saturation %, histogram of outputs and of their gradients.
Per parameter: update:data ratio (log10 std(lr*grad)/std(data)) over time, the largest
gradient seen, how far it moved from init. Per weight matrix: distinct neurons, rank, and
the spread between neurons (how far the columns are from being identical).
"""

from __future__ import annotations

import math

import torch

from .layers import Linear, MixedActivation, _Activation, saturation

HIST_BINS = 40
NEURON_RTOL = 1e-4  # columns closer than this (relative to the larger norm) are one neuron


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def histogram(t: torch.Tensor, lo: float | None = None, hi: float | None = None) -> dict:
    """Counts of t's finite values in HIST_BINS equal bins over [lo, hi] (default: symmetric
    around 0 out to the largest magnitude); NaN/inf values are counted apart."""
    t = t.detach().float().flatten().cpu()
    finite = t[torch.isfinite(t)]
    m = float(finite.abs().max()) if finite.numel() else 0.0
    lo = -(m or 1e-12) if lo is None else lo
    hi = (m or 1e-12) if hi is None else max(hi, lo + 1e-12)
    counts = torch.histc(finite, bins=HIST_BINS, min=lo, max=hi)
    return {
        "lo": lo,
        "hi": hi,
        "counts": [int(c) for c in counts],
        "nonfinite": int(t.numel() - finite.numel()),
    }


def distinct_neurons(w: torch.Tensor, rtol: float = NEURON_RTOL) -> int:
    """How many columns (neurons) of w (fan_in, fan_out) really differ: greedy clusters of
    columns within rtol of each other, relative to the larger column norm."""
    cols = w.detach().double().T
    norms = cols.norm(dim=1)
    scale = torch.maximum(norms[:, None], norms[None, :]).clamp_min(1e-30)
    close = (torch.cdist(cols, cols) <= rtol * scale).numpy()
    reps: list[int] = []
    for j in range(len(close)):
        if not close[j, reps].any():
            reps.append(j)
    return len(reps)


def neuron_spread(w: torch.Tensor) -> float:
    """max_j ||w_j - mean column|| / max_j ||w_j||: 0 when every neuron is the same."""
    cols = w.detach().double().T
    top = float(cols.norm(dim=1).max())
    return float((cols - cols.mean(0)).norm(dim=1).max()) / top if top > 0 else 0.0


def matrix_rank(w: torch.Tensor) -> int:
    return int(torch.linalg.matrix_rank(w.detach().double()))


class Recorder:
    """Collects diagnostics of K stacked runs during training."""

    def __init__(self, model, every: int, hist_every: int):
        self.model, self.every, self.hist_every = model, every, hist_every
        self.steps: list[int] = []
        self.hist_steps: list[int] = []
        self.act_layers = [
            i
            for i, layer in enumerate(model.layers)
            if isinstance(layer, (_Activation, MixedActivation))
        ]
        self.weights = [
            (f"layers.{i}.weight", layer)
            for i, layer in enumerate(model.layers)
            if isinstance(layer, Linear)
        ]
        K = model.K
        self.stats = [
            {
                "activations": {},
                "act_hist": [],
                "grad_hist": [],
                "wgrad_hist": [],
                "update_ratio": {},
                "neuron_spread": {},
            }
            for _ in range(K)
        ]

    def due(self, step: int) -> bool:
        return step % self.every == 0

    @torch.no_grad()
    def capture(self, step: int, lr: torch.Tensor) -> None:
        """Call after backward, before the update: grads and activations are in place."""
        self.steps.append(step)
        with_hist = step % self.hist_every == 0
        if with_hist:
            self.hist_steps.append(step)
        for k, st in enumerate(self.stats):
            self._capture_activations(k, st, with_hist)
            self._capture_params(k, st, float(lr[k]), with_hist)

    def _capture_activations(self, k: int, st: dict, with_hist: bool) -> None:
        kind = self.model.activations[k]
        acts, grads = {}, {}
        for i in self.act_layers:
            layer = self.model.layers[i]
            out, dout = layer.out[k], layer.dout[k]
            name = f"layers.{i} ({kind})"
            row = st["activations"].setdefault(
                name, {"mean": [], "std": [], "saturation": [], "grad_mean": [], "grad_std": []}
            )
            row["mean"].append(float(out.mean()))
            row["std"].append(float(out.std()))
            row["saturation"].append(float(saturation(kind, out.unsqueeze(0))[0]))
            row["grad_mean"].append(float(dout.mean()))
            row["grad_std"].append(float(dout.std()))
            if with_hist:
                lo, hi = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}.get(kind, (0.0, None))
                acts[name] = histogram(out, lo, hi)
                grads[name] = histogram(dout)
        if with_hist:
            st["act_hist"].append(acts)
            st["grad_hist"].append(grads)

    def _capture_params(self, k: int, st: dict, lr: float, with_hist: bool) -> None:
        for name, p in self.model.named_parameters():
            g, d = p.grad[k], p[k]
            ratio = (lr * g).std() / d.std() if d.numel() > 1 else torch.tensor(float("nan"))
            value = _finite(math.log10(float(ratio))) if float(ratio) > 0 else None
            st["update_ratio"].setdefault(name, []).append(value)
        for name, layer in self.weights[:-1]:
            st["neuron_spread"].setdefault(name, []).append(neuron_spread(layer.weight[k]))
        if with_hist:
            st["wgrad_hist"].append(
                {name: histogram(layer.weight.grad[k]) for name, layer in self.weights}
            )

    def result(self, k: int) -> dict:
        return {"steps": self.steps, "hist_steps": self.hist_steps} | self.stats[k]


def param_table(model, init: dict[str, torch.Tensor], grad_max: torch.Tensor, k: int) -> list:
    """One row per parameter tensor of run k: what trained, how much, how many neurons."""
    rows = []
    for j, (name, p) in enumerate(model.named_parameters()):
        moved = float((p[k] - init[name][k]).abs().max())
        gmax = float(grad_max[j, k])
        row = {
            "name": name,
            "shape": list(p.shape[1:]),
            "grad_norm_max": _finite(gmax),
            "moved": _finite(moved),
            "trained": bool(gmax > 0 or moved > 0),
        }
        layer = _owner(model, name)
        if isinstance(layer, Linear) and name.endswith("weight"):
            row["distinct_neurons"] = distinct_neurons(p[k])
            row["rank"] = matrix_rank(p[k]) if math.isfinite(moved) else None
        rows.append(row)
    return rows


def _owner(model, name: str):
    return model.layers[int(name.split(".")[1])] if name.startswith("layers.") else None


def grad_norms(model) -> torch.Tensor:
    """(n_params, K) gradient norms of every parameter of every run, without a sync."""
    return torch.stack([p.grad.flatten(1).norm(dim=1) for p in model.parameters()])
