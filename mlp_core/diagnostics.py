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


def distinct_neurons(w: torch.Tensor, rtol: float = NEURON_RTOL, per_pair: bool = True) -> int:
    """How many columns (neurons) of w (fan_in, fan_out) really differ: greedy clusters of
    columns within rtol of each other, relative to the larger norm of the two columns
    (per_pair) or to the largest column norm of all (zero_init's activations)."""
    cols = w.detach().double().cpu().T
    norms = cols.norm(dim=1)
    if per_pair:
        scale = torch.maximum(norms[:, None], norms[None, :]).clamp_min(1e-30)
    else:
        scale = norms.max().clamp_min(1e-30)
    close = (torch.cdist(cols, cols) <= rtol * scale).numpy()
    reps: list[int] = []
    for j in range(len(close)):
        if not close[j, reps].any():
            reps.append(j)
    return len(reps)


def neuron_spread(w: torch.Tensor) -> float:
    """max_j ||w_j - mean column|| / max_j ||w_j||: 0 when every neuron is the same.
    Reference for tests (neuron_spreads computes it for K runs at once)."""
    cols = w.detach().double().cpu().T
    top = float(cols.norm(dim=1).max())
    return float((cols - cols.mean(0)).norm(dim=1).max()) / top if top > 0 else 0.0


def neuron_spreads(w: torch.Tensor) -> list[float]:
    """neuron_spread of each run's matrix in w (K, fan_in, fan_out), in one pass."""
    cols = w.detach().double().transpose(1, 2)  # (K, fan_out, fan_in)
    top = torch.linalg.vector_norm(cols, dim=2).amax(1)
    spread = torch.linalg.vector_norm(cols - cols.mean(1, keepdim=True), dim=2).amax(1)
    return torch.where(top > 0, spread / top.clamp_min(1e-300), 0.0).tolist()


def update_ratios(p: torch.Tensor, lr: torch.Tensor) -> list[float | None]:
    """log10(std(lr * grad) / std(data)) of each run's slice of p (K, ...); None where it is
    not a finite number (a 1-element parameter, a zero gradient, NaN)."""
    if p[0].numel() < 2:
        return [None] * len(lr)
    ratio = lr.abs() * (row_std(p.grad.flatten(1)) / row_std(p.detach().flatten(1))).cpu()
    return [_finite(math.log10(r)) if r > 0 else None for r in ratio.tolist()]


def row_std(t: torch.Tensor) -> torch.Tensor:
    """Unbiased std of each row of t (K, n), in float64, as t.std(1) gives it; for K > 1 as
    two passes of sums (torch's std over dim 1 of K > 1 rows is slower: ARCHITECTURE.md)."""
    t = t.double()
    if len(t) == 1:
        return t.std(1)
    centred = t - t.mean(1, keepdim=True)
    return (centred * centred).sum(1).div_(t.shape[1] - 1).sqrt_()


def _per_run(t: torch.Tensor, stat: str) -> list[float]:
    """mean, std, min or max of each run's slice of t (K, ...). A single value has no
    spread: its std is 0 (torch's unbiased std would be NaN: batch 1, width 1)."""
    rows = t.flatten(1)
    if stat == "mean":
        return rows.mean(1).tolist()
    if stat in ("min", "max"):  # exact values: "every unit equal" is min == max
        return (rows.amin(1) if stat == "min" else rows.amax(1)).tolist()
    if rows.shape[1] == 1:
        return [0.0] * len(rows)
    return row_std(rows).tolist()


def matrix_rank(w: torch.Tensor) -> int:
    return int(torch.linalg.matrix_rank(w.detach().double().cpu()))


class Recorder:
    """Collects diagnostics of K stacked runs during training."""

    def __init__(self, model, every: int, hist_every: int, last: int | None = None):
        """Captures at every every-th step and at last (the run's last step, so the
        histograms end where the run ends: 0, 600, ..., 2400 and 2999 of 3,000 steps);
        histograms at every hist_every-th capture and at last."""
        self.model, self.every, self.hist_every, self.last = model, every, hist_every, last
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
        return step % self.every == 0 or step == self.last

    @torch.no_grad()
    def capture(self, step: int, lr: torch.Tensor, activations: dict) -> None:
        """Call after backward, before the update: the parameters' .grad are in place.
        activations: layer index -> (output, its gradient), (K, B, features) each, of every
        activation layer (fast.Step.activations). Statistics are computed for all K runs
        at once, then split per run."""
        self.steps.append(step)
        with_hist = step % self.hist_every == 0 or step == self.last
        if with_hist:
            self.hist_steps.append(step)
        self._capture_activations(activations, with_hist)
        self._capture_params(lr.detach().double().cpu(), with_hist)

    def _capture_activations(self, activations: dict, with_hist: bool) -> None:
        kinds = self.model.activations
        hists: list[tuple[dict, dict]] = [({}, {}) for _ in kinds]
        for i in self.act_layers:
            # (K, B x n_hidden) each: the (K, B, n_hidden) views copied once, here, and
            # read by every statistic below
            out, dout = (t.flatten(1) for t in activations[i])
            sat = torch.zeros(len(kinds), dtype=out.dtype)
            for kind in set(kinds):
                sat = torch.where(
                    torch.tensor([x == kind for x in kinds]), saturation(kind, out).cpu(), sat
                )
            cols = {
                "mean": _per_run(out, "mean"),
                "std": _per_run(out, "std"),
                "min": _per_run(out, "min"),
                "max": _per_run(out, "max"),
                "saturation": sat.tolist(),
                "grad_mean": _per_run(dout, "mean"),
                "grad_std": _per_run(dout, "std"),
            }
            for k, (st, kind) in enumerate(zip(self.stats, kinds)):
                name = f"layers.{i} ({kind})"
                row = st["activations"].setdefault(name, {key: [] for key in cols})
                for key, values in cols.items():
                    row[key].append(values[k])
                if with_hist:
                    lo, hi = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}.get(kind, (0.0, None))
                    hists[k][0][name] = histogram(out[k], lo, hi)
                    hists[k][1][name] = histogram(dout[k])
        if with_hist:
            for st, (acts, grads) in zip(self.stats, hists):
                st["act_hist"].append(acts)
                st["grad_hist"].append(grads)

    def _capture_params(self, lr: torch.Tensor, with_hist: bool) -> None:
        for name, p in self.model.named_parameters():
            ratios = update_ratios(p, lr)
            for st, value in zip(self.stats, ratios):
                st["update_ratio"].setdefault(name, []).append(value)
        for name, layer in self.weights[:-1]:
            for st, value in zip(self.stats, neuron_spreads(layer.weight)):
                st["neuron_spread"].setdefault(name, []).append(value)
        if with_hist:
            for k, st in enumerate(self.stats):
                st["wgrad_hist"].append(
                    {name: histogram(layer.weight.grad[k]) for name, layer in self.weights}
                )

    def result(self, k: int) -> dict:
        return {"steps": self.steps, "hist_steps": self.hist_steps} | self.stats[k]


def param_table(model, init: dict, grad_max: torch.Tensor | None, k: int) -> list:
    """One row per parameter tensor of run k: what trained, how much, how many neurons.
    grad_max None: gradients were not tracked (diagnostics off), only the weights' moves."""
    rows = []
    for j, (name, p) in enumerate(model.named_parameters()):
        moved = float((p[k] - init[name][k]).abs().max())
        gmax = None if grad_max is None else float(grad_max[j, k])
        row = {
            "name": name,
            "shape": list(p.shape[1:]),
            "grad_norm_max": None if gmax is None else _finite(gmax),
            "moved": _finite(moved),
            "trained": bool((gmax or 0) > 0 or moved > 0),
        }
        layer = model.owner(name)
        if isinstance(layer, Linear) and name.endswith("weight"):
            finite = bool(torch.isfinite(p[k]).all())  # a diverged run's NaNs count nothing
            row["distinct_neurons"] = distinct_neurons(p[k]) if finite else None
            row["rank"] = matrix_rank(p[k]) if finite else None
        rows.append(row)
    return rows


def until(diag: dict | None, step: int) -> dict | None:
    """The diagnostics captured at steps up to ``step`` (a diverged run's: what came after
    its divergence does not describe a training run). None where nothing was captured."""
    if not diag:
        return diag
    keep = [j for j, s in enumerate(diag["steps"]) if s <= step]
    hkeep = [j for j, s in enumerate(diag["hist_steps"]) if s <= step]
    if not hkeep:
        return None

    def cut(series: list, idx: list[int]) -> list:
        return [series[j] for j in idx]

    out = dict(diag, steps=cut(diag["steps"], keep), hist_steps=cut(diag["hist_steps"], hkeep))
    for key in ("act_hist", "grad_hist", "wgrad_hist"):
        out[key] = cut(diag[key], hkeep)
    out["activations"] = {
        n: {k: cut(v, keep) for k, v in cols.items()} for n, cols in diag["activations"].items()
    }
    for key in ("update_ratio", "neuron_spread"):
        out[key] = {n: cut(v, keep) for n, v in diag[key].items()}
    return out
