"""Question 1's facts, each measured directly: what a trained net's output depends on, how
many neurons a layer really has, which gradients exist in exact arithmetic, whether the
loss has settled. zero_init.py collects them; zero_init_text.py writes only from them.
"""

from __future__ import annotations

import threading

import torch
import torch.nn.functional as F

from . import notebook
from .config import RunConfig
from .data import Dataset, make_splits
from .diagnostics import distinct_neurons
from .layers import BatchNorm1d, Linear
from .model import from_state
from .stack import GRAD_TRACK_FIRST, Stack
from .zero_init_draft import NOTEBOOK_VAL_LOSS

CONTEXT_TOL = 1e-3  # nats: a spread of the log-probabilities below this is not "uses the context"
SETTLED_DROP = 0.001  # nats: the dev loss fell less than this over the last half: settled
NEURON_EPS_FACTOR = 1e3  # columns within this many float eps (relative) are one neuron
AGREE_64 = 1e-6  # two float64 implementations of an exact gradient agree this closely
EFFECTIVE_REL = 1e-3  # a gradient below this fraction of the run's largest is vanishing
CHECK_STEPS = GRAD_TRACK_FIRST  # steps rerun in float64 to tell exact gradients from round-off
DEV_LOSS_STEPS = 20  # the full dev loss after each of a fresh run's first steps
DEV_LOSS_UNTIL = NOTEBOOK_VAL_LOSS  # ... until it reaches the notebook's printed one
WIDTH_ROWS = 4096  # dev rows (a fixed sample) behind the distinct-neuron count and rank
_CHECKS: dict[tuple, dict] = {}  # the last checks, per (run config, data): they cost seconds
CHECKS_KEPT = 64
_CHECKS_LOCK = threading.Lock()  # visitors' threads and the warm-up's share _CHECKS
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


def context_dependence(logp: torch.Tensor) -> float:
    """How much the predicted distribution moves with the context: the root-mean-square,
    over characters, of the spread (std) of log p across dev contexts, in nats. Exactly
    0.0 when every context gets the same prediction (a unigram model): the spread is taken
    of differences from the first row, which are exactly 0 for identical rows."""
    d = logp - logp[:1]
    return float(d.var(0, unbiased=False).mean().sqrt())


def context_gain(logp: torch.Tensor, Y: torch.Tensor) -> float:
    """Nats the context is worth on dev: the loss of the model's own average prediction
    (the same distribution for every context) minus the model's loss."""
    avg = torch.logsumexp(logp, 0) - torch.log(torch.tensor(float(len(logp)), dtype=logp.dtype))
    return float(F.nll_loss(avg.expand_as(logp), Y) - F.nll_loss(logp, Y))


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


def settled(curve: dict) -> dict:
    """Has the dev loss settled? Its change over the last half of the curve (a line fit to
    the val points there, times the span), in nats; settled when it fell less than
    SETTLED_DROP."""
    steps = [s for s, v in zip(curve["step"], curve["val"]) if v is not None]
    vals = [v for v in curve["val"] if v is not None]
    half = [(s, v) for s, v in zip(steps, vals) if s >= steps[-1] / 2] if steps else []
    if len(half) < 3:
        return {"settled": None, "change": None}
    s = torch.tensor([p[0] for p in half], dtype=torch.float64)
    v = torch.tensor([p[1] for p in half], dtype=torch.float64)
    slope = float(((s - s.mean()) * (v - v.mean())).sum() / ((s - s.mean()) ** 2).sum())
    change = slope * float(s[-1] - s[0])
    return {"settled": change > -SETTLED_DROP, "change": change}


def gradient_kinds(
    main: dict[str, list[float]],
    e64: dict[str, list[float]],
    n64: dict[str, list[float]],
    grad_max: dict[str, float],
) -> dict[str, dict]:
    """Classify each tensor's gradient. main: the run's own per-step gradient norms over the
    first steps; e64, n64: the same steps rerun in float64 by the engine and by the notebook
    arithmetic. Each entry: kind, onset, and the norms there (size: the run's own; size64:
    the engine's float64 rerun). At the first step any of them is nonzero (the onset), an
    exact gradient is nonzero in both float64 runs, which agree to AGREE_64, and (if the
    run saw it) within a factor 2 of the run's own value; anything else nonzero is
    round-off."""
    out = {}
    for name, ours in main.items():
        a, b, c = ours, e64[name], n64[name]
        n = min(len(a), len(b), len(c))
        onset = next((t for t in range(n) if a[t] or b[t] or c[t]), None)
        kind = "none" if onset is None and not grad_max.get(name) else "round-off"
        sizes = {"size": None, "size64": None}
        if onset is not None:
            x, y, z = a[onset], b[onset], c[onset]
            same64 = y > 0 and z > 0 and abs(y - z) <= AGREE_64 * max(y, z)
            kind = "exact" if same64 and (x == 0 or 0.5 <= x / y <= 2) else "round-off"
            sizes = {"size": x, "size64": y}
        out[name] = {"kind": kind, "onset": onset} | sizes
    return out


def gradient_check(cfg: RunConfig, ds: Dataset) -> dict:
    """The zero-init run's first CHECK_STEPS steps again in float64, by the engine and in
    the notebook's arithmetic (per-step gradient norms of every tensor), and the full dev
    loss of a fresh run after each of its first DEV_LOSS_STEPS steps. Kept per config and
    data in this process."""
    key = (repr(cfg), ds.sha256)
    with _CHECKS_LOCK:
        if key in _CHECKS:
            return _CHECKS[key]
    short = cfg.replace(dtype="float64", arithmetic="engine")
    steps = min(cfg.train.steps, CHECK_STEPS)
    check = {
        "engine64": _engine_norms(short, ds, steps),
        "notebook64": notebook.grad_norms(short, ds, steps),
        "dev_first": dev_loss_first(cfg.replace(arithmetic="engine"), ds, DEV_LOSS_UNTIL),
    }
    with _CHECKS_LOCK:
        while len(_CHECKS) >= CHECKS_KEPT:
            _CHECKS.pop(next(iter(_CHECKS)))
        _CHECKS[key] = check
    return check


def _stack(cfg: RunConfig, ds: Dataset, steps: int) -> Stack:
    sp = make_splits(ds, cfg.data.block_size)
    return Stack([cfg.replace(steps=steps)], ds.vocab_size, sp, every=steps + 1, hist=steps + 1)


@torch.no_grad()
def _engine_norms(cfg: RunConfig, ds: Dataset, steps: int) -> dict[str, list[float]]:
    st = _stack(cfg, ds, steps)
    st.run(0, steps)
    return st.grad_norms_first(0)


@torch.no_grad()
def dev_loss_first(cfg: RunConfig, ds: Dataset, until: float) -> list[float]:
    """The full dev loss of a fresh run before and after each of its first steps, up to
    the first at or below ``until`` (at most DEV_LOSS_STEPS steps)."""
    steps = min(cfg.train.steps, DEV_LOSS_STEPS)
    st = _stack(cfg, ds, steps)
    out = st.step.evaluate(st.Xdev, st.Ydev)
    for i in range(steps):
        if out[-1] <= until:
            break
        st.run(i, i + 1)
        out += st.step.evaluate(st.Xdev, st.Ydev)
    return out
