"""The init landscape: what every init scale does at every depth, for one activation, with
BatchNorm or without.

The grid: x is the scale of the hidden Linears' kaiming gain (SCALES; 0 is zero init), y
the depth, 1 to 8 hidden layers (DEPTHS). A cell is one run, seeded like every other cell
(same embedding, same weight directions; only the scale differs):

- scale 0: Zero init's zero run (zero_init.zero_init_configs: every Linear weight and
  bias zero);
- scale 1: the activation's own gain (init_gain None: 5/3 tanh, 1 sigmoid, √2 ReLU), Zero
  init's default comparison run;
- any other scale s: kaiming with init_gain = s x model.GAINS[activation].

A cell measures what it shows (TrainConfig.evaluation "dev"): its dev loss on the whole dev
split and a curve of run_rules.DEV_CURVE_POINTS points for its regime; no training-split
loss, no diagnostics. Its training is the same arithmetic as the run with every
measurement (``full_config``: the run a click opens, and for the zero and 1x columns Zero
init's own runs), so its dev loss is that run's, to the rounding of the evaluation's sums.

Two views:

- ``at_init``: one forward and one backward per cell, no training, on AT_INIT_ROWS
  training rows; the cells of one depth stacked in one model.MLP (the readable layers and
  their hand-written backward). Per hidden layer the lecture's diagnostics: activation
  std, the saturated fraction (tanh |h| > 0.97, sigmoid outside [0.03, 0.97]; ReLU: units
  that are 0 on every row, dead), the std of the loss gradient at the layer's output; and
  the first-to-last ratio of those gradient stds, and the loss.
- ``sweep``: each depth's cells through runs.get_or_train, one stack per depth (the
  scales of one depth share train.stack_key; n_layers does not), each stored like any
  run; a cell's dev loss is placed on the data's ladder (regime.place). The zero column
  also says which tensors have an exact gradient within the run's steps and which of them
  moved in its floats (``zero_column``: Zero init's facts, zero_init_facts.gradient_facts).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch

from .config import RunConfig
from .data import Dataset, baselines, make_splits
from .layers import Linear, _Activation, saturation
from .model import GAINS, MLP, cross_entropy, cross_entropy_backward
from .regime import ladder, place, regime
from .runs import get_or_train
from .store import RunStore, run_key
from .train import Progress, RunOutcome
from .zero_init import zero_init_configs
from .zero_init_exact import analyse
from .zero_init_facts import gradient_facts

SCALES = (0.0, 0.01, 0.1, 0.3, 0.5, 1.0, 2.0, 3.0, 10.0)  # x the activation's kaiming gain
DEPTHS = tuple(range(1, 9))  # hidden layers
STEPS = 1000  # the trained view's default
AT_INIT_ROWS = 256  # training rows of the at-init forward and backward (fixed, seeded)
SATURATED = {"tanh": "saturated", "sigmoid": "saturated", "relu": "dead"}


def base_config(
    activation: str = "tanh",
    batchnorm: bool = False,
    steps: int = STEPS,
    seed: int = 42,
    **settings,
) -> RunConfig:
    """The settings every cell shares (the lecture's net: width 100, lr 0.1, batch 32);
    ``settings``: any other RunConfig field (tests train in float64)."""
    return RunConfig().replace(
        activation=activation, batchnorm=batchnorm, steps=steps, seed=seed, **settings
    )


def cell_config(base: RunConfig, depth: int, scale: float) -> RunConfig:
    """The run of one cell, measuring what the cell shows (module docstring)."""
    return full_config(base, depth, scale).replace(evaluation="dev")


def full_config(base: RunConfig, depth: int, scale: float) -> RunConfig:
    """The cell's run with every measurement (the run a click opens; scale 0 and 1: Zero
    init's own runs)."""
    cfg = base.replace(n_layers=depth)
    if scale == 0:
        return zero_init_configs(cfg)[0]
    gain = None if scale == 1 else scale * GAINS[cfg.model.activation]
    return cfg.replace(init="kaiming", init_gain=gain, init_scale=0.01)


def depth_configs(base: RunConfig, depth: int, scales=SCALES) -> list[RunConfig]:
    """One depth's cells: one stack."""
    return [cell_config(base, depth, s) for s in scales]


def gain(cfg: RunConfig) -> float:
    """The hidden Linears' kaiming gain of a cell's run (0 for zero init)."""
    m = cfg.model
    if m.init == "zeros":
        return 0.0
    return GAINS[m.activation] if m.init_gain is None else m.init_gain


def cell_head(depth: int, scale: float, cfg: RunConfig) -> dict:
    """What every cell says of itself: where it sits, and its init."""
    return {"depth": depth, "scale": scale, "init": cfg.model.init, "gain": gain(cfg)}


# ---------------------------------------------------------------- the at-init view


def at_init(
    base: RunConfig, ds: Dataset, depths=DEPTHS, scales=SCALES, rows: int = AT_INIT_ROWS
) -> list[dict]:
    """Every cell's diagnostics at init (module docstring), depth by depth."""
    sp = make_splits(ds, base.data.block_size)
    g = torch.Generator().manual_seed(0)
    ix = torch.randperm(len(sp.Ytr), generator=g)[: min(rows, len(sp.Ytr))]
    X, Y = sp.Xtr[ix], sp.Ytr[ix]
    out = []
    for depth in depths:
        cfgs = depth_configs(base, depth, scales)
        stats = init_stats(cfgs, X, Y, ds.vocab_size)
        out += [
            cell_head(depth, s, c) | {"rows": len(Y)} | st for s, c, st in zip(scales, cfgs, stats)
        ]
    return out


@torch.no_grad()
def init_stats(cfgs: list[RunConfig], X: torch.Tensor, Y: torch.Tensor, V: int) -> list[dict]:
    """One forward and backward of the stacked runs (one shape) on rows X, Y."""
    c0 = cfgs[0]
    seeds = [c.train.seed for c in cfgs]
    model = MLP([c.model for c in cfgs], V, c0.data.block_size, seeds, dtype=c0.train.dtype)
    K = len(cfgs)
    logits = model(X.expand(K, *X.shape))
    Yk = Y.expand(K, len(Y))
    loss = cross_entropy(logits, Yk)
    grads = _output_grads(model.layers, cross_entropy_backward(logits, Yk))
    acts = [i for i, layer in enumerate(model.layers) if isinstance(layer, _Activation)]
    kind = c0.model.activation
    act_std = [_std(model.layers[i].out) for i in acts]
    grad_std = [_std(grads[i]) for i in acts]
    sat = [_saturated(kind, model.layers[i].out) for i in acts]
    return [
        {
            "loss": float(loss[k]),
            "act_std": [s[k] for s in act_std],
            "grad_std": [s[k] for s in grad_std],
            SATURATED[kind]: [s[k] for s in sat],
            "grad_ratio": _ratio(grad_std[0][k], grad_std[-1][k]),
        }
        for k in range(K)
    ]


def _output_grads(layers: list, d: torch.Tensor) -> dict[int, torch.Tensor]:
    """The loss gradient at each layer's output, layer index -> (K, B, features): the
    readable backward, input gradients only (a Linear's weight gradient is not needed)."""
    grads = {}
    for i in reversed(range(len(layers))):
        grads[i] = d
        layer = layers[i]
        d = torch.bmm(d, layer.weight.mT) if isinstance(layer, Linear) else layer.backward(d)
    return grads


def _std(t: torch.Tensor) -> list[float]:
    """Each run's std over its rows and units (population std; two passes of sums, faster
    than torch's std over dim 1 of K rows: ARCHITECTURE.md)."""
    rows = t.flatten(1)
    centred = rows - rows.mean(1, keepdim=True)
    return (centred * centred).mean(1).sqrt().tolist()


def _saturated(kind: str, out: torch.Tensor) -> list[float]:
    """tanh, sigmoid: the fraction of saturated outputs; ReLU: of units 0 on every row."""
    if kind == "relu":
        return (out == 0).all(1).double().mean(1).tolist()
    return saturation(kind, out).tolist()


def _ratio(first: float, last: float) -> float | None:
    """first / last; None where the last is 0 (no gradient reaches the hidden layers)."""
    return first / last if last > 0 and math.isfinite(first / last) else None


# ---------------------------------------------------------------- the trained view


def stored(
    base: RunConfig, ds: Dataset, store: RunStore, depths=DEPTHS, scales=SCALES
) -> list[dict]:
    """The trained cells already in the store (nothing trains)."""
    rungs, out = baselines(ds, base.data.block_size), []
    for depth in depths:
        for scale, cfg in zip(scales, depth_configs(base, depth, scales)):
            if (o := store.get(cfg, ds.sha256)) is not None:
                out.append(trained_cell(depth, scale, o, ds, rungs))
    return out


def sweep(
    base: RunConfig,
    ds: Dataset,
    store: RunStore | None,
    depths=DEPTHS,
    scales=SCALES,
    on_progress: Callable[[int, Progress], bool | None] | None = None,
    **schedule,
) -> Iterator[list[dict]]:
    """Each depth's cells, trained (or fetched) as one stack through runs.get_or_train,
    yielded as the stack is done, shallowest first. ``on_progress(depth, progress)``:
    return True to stop; ``schedule``: get_or_train's own keywords (a hosted app's turns)."""
    rungs = baselines(ds, base.data.block_size)
    for depth in depths:
        cfgs = depth_configs(base, depth, scales)
        report = None if on_progress is None else _for_depth(on_progress, depth)
        outcomes = get_or_train(cfgs, ds, store=store, on_progress=report, **schedule)
        yield [trained_cell(depth, s, o, ds, rungs) for s, o in zip(scales, outcomes)]
        if any(o.status == "stopped" for o in outcomes):
            return


def _for_depth(on_progress, depth: int):
    return lambda p: on_progress(depth, p)


def trained_cell(
    depth: int, scale: float, o: RunOutcome, ds: Dataset, base: dict | None = None
) -> dict:
    """A cell after its steps: its dev loss, where that stands on the data's ladder
    (``base``: data.baselines of ds), its curve's regime; the zero column, which tensors
    have an exact gradient."""
    base = base or baselines(ds, o.config.data.block_size)
    m, val = o.metrics, o.metrics.get("val_loss")
    ok = o.status == "ok"
    cell = cell_head(depth, scale, o.config) | {
        "key": run_key(o.config, ds.sha256),
        "status": o.status,
        "steps": m.get("steps"),
        "val_loss": val if ok else None,
        "place": place(val, base) if ok else o.status,
        "beats": rungs_beaten(val, base) if ok else None,
        "regime": regime(m.get("curve"), o.status, base["uniform"])["state"],
        "diverged_at": m.get("diverged_at"),
        "cached": o.cached,
    }
    if o.config.model.init == "zeros":
        cell |= zero_column(o, ds)
    return cell


def rungs_beaten(loss: float | None, base: dict) -> int | None:
    """How many rungs of the ladder the loss is strictly below (0: none; 3: every rung,
    whatever their order on a small data set)."""
    if loss is None or not math.isfinite(loss):
        return None
    return sum(loss < v for _, v in ladder(base))


def zero_column(o: RunOutcome, ds: Dataset) -> dict:
    """What a zero-init cell's tensors did within the steps it ran, as Zero init's answer
    reads them (zero_init_facts.gradient_facts): "exact", the tensors with a nonzero
    gradient in exact arithmetic; of those, "trains" (it moved in this run's floats) and
    "too_small" (its exact gradient too small to move a float32 number); "roundoff", the
    tensors that moved with no exact gradient (round-off alone). Moved: the run's final
    weights differ from its initial ones (the parameter table's "moved", an exact
    comparison). A cell keeps no float gradients, so a tensor that neither has an exact
    gradient nor moved is in none of the lists."""
    sp = make_splits(ds, o.config.data.block_size)
    ex = analyse(o.config, sp.Xtr, sp.Ytr, ds.vocab_size)
    steps = o.metrics.get("steps") or 0
    kinds = gradient_facts(ex, o.metrics.get("params") or [], {}, steps)
    exact = [n for n, k in kinds.items() if k["kind"] == "exact"]
    return {
        "exact": exact,
        "trains": [n for n in exact if kinds[n]["moved"] > 0],
        "too_small": [n for n in exact if kinds[n]["moved"] == 0],
        "roundoff": [n for n, k in kinds.items() if k["kind"] != "exact" and k["moved"] > 0],
    }
