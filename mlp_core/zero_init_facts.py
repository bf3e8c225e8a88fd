"""Question 1's facts, each measured directly: what a trained net's output depends on, how
many neurons a layer really has, each tensor's gradient in exact arithmetic (from
zero_init_exact.py) beside the run's own floats, and a loss on any split. zero_init.py
collects them; zero_init_text.py writes only from them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .data import Dataset, make_splits
from .diagnostics import distinct_neurons
from .fast.evaluate import distinct
from .folding import round_off_scale
from .layers import BatchNorm1d, Linear
from .model import from_state
from .scaled import magnitude_text
from .zero_init_exact import ExactResult

NEURON_EPS_FACTOR = 1e3  # columns within this many float eps (relative) are one neuron
WIDTH_ROWS = 4096  # dev rows (a fixed sample) behind the distinct-neuron count and rank
EPS = {torch.float32: torch.finfo(torch.float32).eps, torch.float64: torch.finfo(torch.float64).eps}


@torch.inference_mode()
def dev_forward(outcome, ds: Dataset) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The trained run in eval mode on every dev row: log-probabilities (N, vocab) and each
    hidden activation layer's output (N, width)."""
    cfg = outcome.config
    model = from_state(cfg.model, outcome.state, ds.vocab_size, cfg.data.block_size)
    X = make_splits(ds, cfg.data.block_size).Xdev
    logits = model(X[None])[0]
    hidden = [
        layer.out[0]
        for layer in model.layers
        if not isinstance(layer, (Linear, BatchNorm1d)) and hasattr(layer, "out")
    ]
    return F.log_softmax(logits.double(), dim=1), hidden


@torch.inference_mode()
def wide_context(outcome, ds: Dataset) -> tuple[float, float, float]:
    """(context_dependence, context_gain, resolution) of the run's stored weights evaluated
    in float64, so that the sizes a sentence gives are the net's own and not the rounding
    of a float32 forward pass: over every dev row, each distinct context evaluated once and
    weighted by its rows (fast.evaluate.distinct). ``resolution``: what float64's own
    rounding can make a difference of two log-probabilities, 2 x eps x (the net's round-off
    scale, folding.round_off_scale, plus the largest log-sum-exp the log-softmax takes
    away): a spread or a gain no larger is not measured, whatever exact arithmetic says."""
    cfg = outcome.config
    state = {k: v.double() if v.is_floating_point() else v for k, v in outcome.state.items()}
    model = from_state(cfg.model, state, ds.vocab_size, cfg.data.block_size)
    sp = make_splits(ds, cfg.data.block_size)
    X, counts = distinct(sp.Xdev, sp.Ydev, ds.vocab_size)  # counts (vocab, contexts)
    logits = model(X[None])[0]
    logp = F.log_softmax(logits, dim=1)  # (contexts, vocab), float64
    lse = float(torch.logsumexp(logits, 1).abs().max())
    resolution = 2 * torch.finfo(torch.float64).eps * (round_off_scale(model, X) + lse)
    return context_dependence(logp, counts.sum(0)), context_gain(logp, counts), resolution


def context_dependence(logp: torch.Tensor, rows: torch.Tensor | None = None) -> float:
    """How much the predicted distribution moves with the context: the root-mean-square,
    over characters, of the spread (std) of log p across dev contexts, in nats. Exactly
    0.0 when every context gets the same prediction (a unigram model): the spread is taken
    of differences from the first row, which are exactly 0 for identical rows. ``rows``:
    how many dev rows each row of logp stands for (distinct contexts); 1 each if None."""
    d = logp - logp[:1]
    w = torch.ones(len(d), dtype=d.dtype) if rows is None else rows.to(d.dtype)
    w, n = w.unsqueeze(1), w.sum()
    centred = d - (w * d).sum(0) / n
    return float(((w * centred * centred).sum(0) / n).mean().sqrt())


def context_gain(logp: torch.Tensor, counts: torch.Tensor) -> float:
    """Nats the context is worth on dev: the loss of the model's own average prediction
    (the same distribution for every context) minus the model's loss. ``counts`` (vocab,
    contexts): how many dev rows of each context have each target."""
    rows = counts.sum(0).unsqueeze(1)
    n = rows.sum()
    average = torch.logsumexp(logp + rows.log(), 0) - n.log()
    return float(((counts.T * logp).sum() - (counts.T * average).sum()) / n)


def effective_width(hidden: list[torch.Tensor]) -> list[dict]:
    """Per hidden layer, over WIDTH_ROWS dev rows: distinct neurons, numerical rank and
    whether its output is the same for every context; tolerances follow the float type
    the run used (NEURON_EPS_FACTOR eps for neurons, max(N, width) eps for the rank:
    numpy's rule)."""
    rows = (
        torch.randperm(len(hidden[0]), generator=torch.Generator().manual_seed(0))
        if hidden
        else None
    )
    out = []
    for h in hidden:
        h = h[rows[:WIDTH_ROWS]]
        eps = EPS[h.dtype]
        hd = h.double()
        rank = (
            int(torch.linalg.matrix_rank(hd, rtol=max(hd.shape) * eps)) if hd.abs().max() > 0 else 0
        )
        out.append(
            {
                "width": h.shape[1],
                "distinct_neurons": distinct_neurons(h, NEURON_EPS_FACTOR * eps, per_pair=False),
                "rank": rank,
                "constant": bool((h == h[:1]).all()),
            }
        )
    return out


def gradient_facts(exact: ExactResult, params: list[dict], first: dict, steps: int) -> dict:
    """Each tensor's gradient, exact arithmetic beside this run's floats. kind: "exact"
    (nonzero in exact arithmetic within the run's steps), "later" (nonzero in exact
    arithmetic only from a step after the run's last), "round-off" (zero in exact
    arithmetic, nonzero in this run), "undecided" (a gradient too small or too cancelling
    for 64-bit mantissas to tell from zero), "undefined" (the exact computation has no
    value: BatchNorm with eps = 0 divides 0 by 0, ExactResult.undefined) or "none". onset:
    the exact onset, or for round-off the first tracked step this run saw it (None: only
    after the first tracked steps).
    verdict: the table's last column, from the same facts."""
    out = {}
    for p in params:
        name, gmax, moved = p["name"], p["grad_norm_max"] or 0.0, p["moved"] or 0.0
        onset, seen = exact.onset.get(name), gmax > 0 or moved > 0
        if exact.undefined:
            kind, onset = "undefined", None
        elif onset is not None:
            kind = "exact" if onset < steps else "later"
        elif name in exact.undecided:
            kind = "undecided"
        else:
            kind = "round-off" if seen else "none"
            onset = next((t for t, v in enumerate(first.get(name, [])) if v), None)
        log10 = exact.at_onset(name)
        out[name] = {
            "kind": kind,
            "onset": onset,
            "log10": log10,
            "size": None if log10 is None else magnitude_text(log10),
            "float64_holds": log10 is None or log10 == -math.inf or log10 >= FLOAT64_LOG10_MIN,
            "run_max": gmax,
            "moved": moved,
            "verdict": _verdict(kind, moved),
        }
    return out


FLOAT64_LOG10_MIN = math.log10(torch.finfo(torch.float64).tiny)


def _verdict(kind: str, moved: float) -> str:
    if kind == "exact":
        return "trains" if moved > 0 else "too small to move it in float32"
    return {
        "later": "not within this run's steps",
        "round-off": "round-off only",
        "undecided": "too small to resolve",
        "undefined": "undefined in exact arithmetic (0/0)",
        "none": "no gradient",
    }[kind]


@torch.inference_mode()
def split_loss(outcome, ds: Dataset, split: str) -> float | None:
    """The trained run's eval-mode loss on one split ("Xte": the third split, the one the
    lecture's notebook called Xval), in float64; None for an empty split."""
    cfg = outcome.config
    model = from_state(cfg.model, outcome.state, ds.vocab_size, cfg.data.block_size)
    sp = make_splits(ds, cfg.data.block_size)
    X, Y = getattr(sp, split), getattr(sp, "Y" + split[1:])
    if not len(Y):
        return None
    return float(F.cross_entropy(model(X[None])[0].double(), Y))
