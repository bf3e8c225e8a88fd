"""What a training costs before it runs: its CPU seconds on one core, from the measured
cost of its shapes (bench/step_cost.py measures the constants below and writes
bench/step_cost.json; bench/README.md "The cost of a form" gives the machine, the load and
how close the estimate comes on forms it was not fitted to).

The engine trains the runs that share a stack key as one stack (mlp_core.train.stack_key),
so a form is priced stack by stack. A stack of K runs pays, every step:
- STEP_S (drawing the minibatches, the loop), LAYER_S per layer and BN_LAYER_S per
  BatchNorm layer: the ops' fixed costs, shared by the stack's runs; RUN_LAYER_S per layer
  of each run (a batched product's and a statistic's cost per matrix);
- ELEM_S per activation (run x batch row x hidden unit x layer: the elementwise ops) and
  BN_ELEM_S more per activation of a BatchNorm net;
- MAC_S per multiply-add (batch x (block x n_embd x H + (layers - 1) x H^2 + H x vocab) a
  run), forward and backward together;
- ROW_S per batch row of a run (its logits over the vocabulary, their softmax and loss),
  EMBED_ELEM_S per value of the net's input (run x batch row x block x n_embd: the
  embedding's rows gathered, their gradient added back) and PARAM_S per parameter of a run
  (the update, and the weights a product reads, which bound a narrow batch's step).
Once, it pays its measuring:
- POINT_S per curve point; EVAL_ELEM_S per activation and EVAL_MAC_S per multiply-add of
  every distinct context it evaluates (``evaluations``: the curve's samples, the whole
  splits at the end; the data set's own counts, ``Sizes``, the built-in names' unless
  given, at block size 3 as every page trains: ``data_sizes`` takes another);
- GRAD_S per parameter of a run at each step that keeps its gradients (the first
  GRAD_TRACK_FIRST and every diagnostics capture: their norms) and CAPTURE_ELEM_S per
  activation at each diagnostics capture (their statistics and histograms).
The notebook's arithmetic (autograd, its runs one after another) is priced run by run,
with constants of its own (``notebook_features``): per step, batch row, layer, activation
and multiply-add of its steps (BatchNorm's layers and activations apart), per activation
and multiply-add of the rows it evaluates row by row (its curve's samples and every row of
both splits at the end), per parameter at each step that keeps its gradients and per
activation at each capture. A form's cost is the sum of
its stacks'.

Its wall time (``wall_seconds``): a stack split over two processes (mlp_core.train: a big
stack of several runs) takes as long as its larger half, and an evaluation of more than
one chunk gives every other chunk to a helper thread, on the core a single process leaves
free. On a server shared by n open trainings a new one gets about 1/(n + 1) of the time
(fair turns, turns.py), so its wall time there is about n + 1 times that.

The demo's budget per submission (ui.settings.DEMO_BUDGET_S) is sized for a class
(class_budget): n visitors arriving over T seconds, each asking for a custom zero-init and
one submission at the budget, fit a server process's one training core (one slice at a
time) when n x (CUSTOM_ZERO_INIT_S + budget x ANSWER_OVERRUN) <= T, both measured from
the answers a demo server gives one visitor alone.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

from mlp_core.config import RunConfig
from mlp_core.data import Dataset, make_splits
from mlp_core.fast.evaluate import EVAL_ROWS as EVAL_CHUNK_ROWS
from mlp_core.run_rules import GRAD_TRACK_FIRST, curve_from, curve_points, default_diag_every
from mlp_core.stack import evaluation_sizes
from mlp_core.train import split, stack_key, worker_count

__all__ = [
    "BUILT_IN",
    "Sizes",
    "captures",
    "class_budget",
    "cpu_seconds",
    "data_sizes",
    "eval_caller_share",
    "evaluations",
    "fitting",
    "grad_steps",
    "notebook_features",
    "once_features",
    "points",
    "run_macs",
    "run_params",
    "stack_seconds",
    "stacks",
    "step_features",
    "wall_seconds",
]

VOCAB = 27  # the built-in names' letters and the end mark
# rows evaluated once per run, on the built-in names (block size 3): the notebook's
# arithmetic evaluates every train and dev row; the engine each distinct context once
# (mlp_core/fast/evaluate.py): 5,427 training and 2,932 dev contexts at the end, the
# 1,382 of the 4,096-row dev sample behind each curve point
EVAL_ROWS = 171_806 + 21_500
FINAL_TRAIN_ROWS = 5_427
DEV_ROWS = 2_932
POINT_ROWS = 1_382
START_TRAIN_ROWS = 1_327  # the 4,096-row training sample of a curve's step 0
CURVE_SAMPLE_ROWS = 4_096  # rows of a curve point's sample, row by row in the notebook


@dataclass(frozen=True)
class Sizes:
    """What a data set gives a run to evaluate (mlp_core.stack.evaluation_sizes): its
    vocabulary, the distinct contexts of its training and dev splits, of the dev sample
    behind each curve point and of the training sample at step 0, every row of both splits
    and the rows of the two samples (the notebook's arithmetic forwards rows, not
    contexts)."""

    vocab: int = VOCAB
    train: int = FINAL_TRAIN_ROWS
    dev: int = DEV_ROWS
    point: int = POINT_ROWS
    start: int = START_TRAIN_ROWS
    rows: int = EVAL_ROWS
    point_rows: int = CURVE_SAMPLE_ROWS
    start_rows: int = CURVE_SAMPLE_ROWS


BUILT_IN = Sizes()  # the built-in names at block size 3
SIZES_KEPT = 32  # data sets whose Sizes are kept (a hosted server sees many uploads)
_sizes: OrderedDict[tuple[str, int], Sizes] = OrderedDict()
_sizes_lock = threading.Lock()


def data_sizes(ds: Dataset | None, block_size: int = 3) -> Sizes:
    """A data set's Sizes at this block size (mlp_core.stack.evaluation_sizes: its splits'
    distinct contexts), computed on a data set's (its sha256's) first call (by each thread
    that asks before the first answer is kept) and kept for the last SIZES_KEPT of them;
    BUILT_IN without a data set."""
    if ds is None:
        return BUILT_IN
    key = (ds.sha256, block_size)
    with _sizes_lock:
        if key in _sizes:
            _sizes.move_to_end(key)
            return _sizes[key]
    found = Sizes(**evaluation_sizes(make_splits(ds, block_size), ds.vocab_size))
    with _sizes_lock:
        _sizes[key] = found
        while len(_sizes) > SIZES_KEPT:
            _sizes.popitem(last=False)
    return found


# measured by bench/step_cost.py (bench/step_cost.json): seconds, one core, one thread
ENGINE = {
    "STEP_S": 6.92e-06,
    "LAYER_S": 1.1e-05,
    "BN_LAYER_S": 1.87e-05,
    "RUN_LAYER_S": 2.67e-06,
    "ELEM_S": 3.84e-10,
    "BN_ELEM_S": 5.05e-09,
    "MAC_S": 6.34e-11,
    "ROW_S": 2.71e-07,
    "EMBED_ELEM_S": 9.7e-10,
    "PARAM_S": 1.16e-09,
    "POINT_S": 0.00269,
    "EVAL_ELEM_S": 2.41e-09,
    "EVAL_MAC_S": 2.32e-11,
    "GRAD_S": 4.76e-09,
    "CAPTURE_ELEM_S": 1.63e-08,
}
NOTEBOOK = {
    "STEP_S": 0.000322,
    "ROW_S": 0.0,
    "LAYER_S": 1.25e-05,
    "BN_LAYER_S": 0.000197,
    "ELEM_S": 0.0,
    "BN_ELEM_S": 3.93e-09,
    "MAC_S": 7.82e-11,
    "EVAL_ELEM_S": 4.51e-09,
    "EVAL_MAC_S": 1.93e-11,
    "GRAD_S": 0.0,
    "CAPTURE_ELEM_S": 3.69e-08,
}
STEP_TERMS = (
    "STEP_S",
    "LAYER_S",
    "BN_LAYER_S",
    "RUN_LAYER_S",
    "ELEM_S",
    "BN_ELEM_S",
    "MAC_S",
    "ROW_S",
    "EMBED_ELEM_S",
    "PARAM_S",
)
ONCE_TERMS = ("POINT_S", "EVAL_ELEM_S", "EVAL_MAC_S", "GRAD_S", "CAPTURE_ELEM_S")
NOTEBOOK_TERMS = (
    "STEP_S",
    "ROW_S",
    "LAYER_S",
    "BN_LAYER_S",
    "ELEM_S",
    "BN_ELEM_S",
    "MAC_S",
    "EVAL_ELEM_S",
    "EVAL_MAC_S",
    "GRAD_S",
    "CAPTURE_ELEM_S",
)


def run_macs(cfg: RunConfig, vocab: int = VOCAB) -> float:
    """Multiply-adds of one step of one run (its Linear layers on a batch)."""
    m, b = cfg.model, cfg.train.batch_size
    h = m.n_hidden
    return b * (cfg.data.block_size * m.n_embd * h + (m.n_layers - 1) * h * h + h * vocab)


def run_params(cfg: RunConfig, vocab: int = VOCAB) -> float:
    """Parameters of one run (weights and biases; the embedding's)."""
    m = cfg.model
    h = m.n_hidden
    fan_in = cfg.data.block_size * m.n_embd
    return vocab * m.n_embd + (fan_in + 1) * h + (m.n_layers - 1) * (h + 1) * h + (h + 1) * vocab


def stacks(cfgs: list[RunConfig]) -> list[list[RunConfig]]:
    """The stacks these runs train in (mlp_core.train.stack_key), in order of first run."""
    out: dict[tuple, list[RunConfig]] = {}
    for c in cfgs:
        out.setdefault(stack_key(c), []).append(c)
    return list(out.values())


def _activations(stack: list[RunConfig]) -> float:
    """Activations of one step of a stack: runs x batch rows x hidden units x layers."""
    m = stack[0].model
    return len(stack) * stack[0].train.batch_size * m.n_hidden * m.n_layers


def step_features(stack: list[RunConfig], sizes: Sizes = BUILT_IN) -> tuple[float, ...]:
    """One step of a stack of runs (engine): the features STEP_TERMS price."""
    c, K = stack[0], len(stack)
    m, elems = c.model, _activations(stack)
    bn = 1.0 if m.batchnorm else 0.0
    vocab = sizes.vocab
    macs = sum(run_macs(r, vocab) for r in stack)
    rows = K * c.train.batch_size
    embed = rows * c.data.block_size * m.n_embd
    params = K * run_params(c, vocab)
    layers = (m.n_layers, bn * m.n_layers, K * m.n_layers)
    return (1.0, *layers, elems, bn * elems, macs, rows, embed, params)


def grad_steps(cfg: RunConfig) -> int:
    """Steps that keep their gradients: the first GRAD_TRACK_FIRST and every diagnostics
    capture's after them (evaluation "dev" keeps the same ones, so that its arithmetic is
    the full evaluation's, and measures nothing from them)."""
    steps, first = cfg.train.steps, GRAD_TRACK_FIRST
    if steps <= first:
        return steps
    every, last = default_diag_every(steps), steps - 1
    # the captures at first .. last: multiples of every, and the last step where it is not one
    return first + last // every - (first - 1) // every + (1 if last % every else 0)


def captures(cfg: RunConfig) -> int:
    """Diagnostics captures of a run (evaluation "full"): every diag_every-th step and
    its last."""
    steps = cfg.train.steps
    if cfg.train.evaluation != "full":
        return 0
    every = default_diag_every(steps)
    return -(-steps // every) + (1 if (steps - 1) % every else 0)


def points(cfg: RunConfig) -> int:
    """Curve points a run measures (its step 0 included for evaluation "full")."""
    t = cfg.train
    every = max(1, t.steps // curve_points(t.evaluation))
    first = curve_from(t.evaluation, t.steps)
    ends = [min(a + every, t.steps) for a in range(0, t.steps, every)]
    return sum(1 for b in ends if b >= first) + (1 if first == 0 else 0)


def evaluations(cfg: RunConfig, sizes: Sizes = BUILT_IN) -> list[tuple[int, int]]:
    """(distinct contexts, how many times) of each evaluation a run makes: the training
    sample at its curve's step 0 (where the curve starts there), the curve's points on the
    dev sample, then the whole splits it measures at the end."""
    t = cfg.train
    start = [(sizes.start, 1)] if curve_from(t.evaluation, t.steps) == 0 else []
    final = (sizes.dev,) if t.evaluation == "dev" else (sizes.train, sizes.dev)
    return start + [(sizes.point, points(cfg))] + [(rows, 1) for rows in final]


def eval_caller_share(stack: list[RunConfig], cores: int, sizes: Sizes = BUILT_IN) -> float:
    """The share of a stack's evaluation its own thread computes: an evaluation of more
    than one chunk gives every other chunk to a helper thread (mlp_core/fast/evaluate.py),
    which runs beside it where a core is free."""
    n = max(256, EVAL_CHUNK_ROWS // len(stack))
    mine = every = 0.0
    for rows, times in evaluations(stack[0], sizes):
        chunks = rows // n
        on_caller = rows if chunks < 2 or cores < 2 else -(-chunks // 2) * n + rows - chunks * n
        mine, every = mine + times * on_caller, every + times * rows
    return mine / every if every else 1.0


def once_features(stack: list[RunConfig], sizes: Sizes = BUILT_IN) -> tuple[float, ...]:
    """What a stack measures once (engine): the features ONCE_TERMS price."""
    c, K = stack[0], len(stack)
    n_points = points(c)
    vocab = sizes.vocab
    rows = sum(r * times for r, times in evaluations(c, sizes))
    per_row = run_macs(c, vocab) / c.train.batch_size
    m = c.model
    return (
        n_points,
        K * rows * m.n_hidden * m.n_layers,
        K * rows * per_row,
        K * grad_steps(c) * run_params(c, vocab) if c.train.evaluation == "full" else 0.0,
        captures(c) * _activations(stack),
    )


def notebook_features(cfg: RunConfig, sizes: Sizes = BUILT_IN) -> tuple[float, ...]:
    """One run in the notebook's arithmetic (mlp_core/notebook.py): the features
    NOTEBOOK_TERMS price. Its steps: steps x (1, batch rows, layers, activations,
    multiply-adds; layers and activations again for BatchNorm); its
    evaluations, row by row: every training and dev row at the end (EVAL_ROWS) and 4,096
    rows at each curve point (two samples at step 0); its gradient-keeping steps and
    captures, as the engine's."""
    m, t = cfg.model, cfg.train
    # the training sample at step 0, the dev sample at step 0 and at every later point
    rows = sizes.rows + sizes.start_rows + sizes.point_rows * points(cfg)
    acts = t.batch_size * m.n_hidden * m.n_layers
    vocab = sizes.vocab
    macs = run_macs(cfg, vocab)
    bn = 1.0 if m.batchnorm else 0.0
    return (
        t.steps,
        t.steps * t.batch_size,
        t.steps * m.n_layers,
        bn * t.steps * m.n_layers,
        t.steps * acts,
        bn * t.steps * acts,
        t.steps * macs,
        rows * m.n_hidden * m.n_layers,
        rows * macs / t.batch_size,
        grad_steps(cfg) * run_params(cfg, vocab),
        captures(cfg) * acts,
    )


def _notebook_seconds(c: RunConfig, sizes: Sizes) -> float:
    return sum(f * NOTEBOOK[t] for f, t in zip(notebook_features(c, sizes), NOTEBOOK_TERMS))


def stack_seconds(
    stack: list[RunConfig], sizes: Sizes = BUILT_IN, eval_share: float = 1.0
) -> float:
    """Estimated CPU seconds (one core) of one stack of runs; with ``eval_share``, the
    seconds its own thread takes (that share of the rows it evaluates)."""
    if stack[0].train.arithmetic == "notebook":
        return sum(_notebook_seconds(c, sizes) for c in stack)
    k = ENGINE
    step = sum(f * k[t] for f, t in zip(step_features(stack, sizes), STEP_TERMS))
    once = once_features(stack, sizes)
    share = {"EVAL_ELEM_S": eval_share, "EVAL_MAC_S": eval_share}  # the rows' terms
    return stack[0].train.steps * step + sum(
        f * k[t] * share.get(t, 1.0) for f, t in zip(once, ONCE_TERMS)
    )


def cpu_seconds(cfgs: list[RunConfig], sizes: Sizes = BUILT_IN) -> float:
    """Estimated CPU seconds (one core) to train these runs on a data set of these sizes."""
    return sum(stack_seconds(s, sizes) for s in stacks(cfgs))


def wall_seconds(cfgs: list[RunConfig], open_trainings: int, sizes: Sizes = BUILT_IN) -> float:
    """Estimated seconds to train these runs beside ``open_trainings`` others: each stack
    takes as long as the largest of the groups its processes train (train.worker_count),
    and a process's evaluation shares its rows with a helper thread where a core is free."""
    alone, cores = 0.0, os.cpu_count() or 1
    for s in stacks(cfgs):
        n = 1 if s[0].train.arithmetic == "notebook" else worker_count(s)
        free = 2 if cores >= 2 * n else 1  # each process's helper thread a core of its own
        alone += max(
            stack_seconds(g, sizes, eval_caller_share(g, free, sizes)) for g in split(s, n)
        )
    return alone * (open_trainings + 1)


def fitting(groups: list[list[RunConfig]], budget: float, sizes: Sizes = BUILT_IN) -> int:
    """How many of these groups of runs, taken in order, fit in ``budget`` CPU seconds
    together (a sweep's stacks: the first ones train in one submission)."""
    total = 0.0
    for n, group in enumerate(groups):
        total += cpu_seconds(group, sizes)
        if total > budget:
            return n
    return len(groups)


# A visitor's answers as a demo server gives them, each measured with one visitor alone
# (bench/visitors.py --class, its "solo" figures; bench/README.md "Hosted visitors"):
# a custom zero-init's answer (its two runs trained, its report drawn) took 2.46 s and
# 2.79 s in two runs of the bench; a compare answer at the caps' widest shape (its runs
# trained beside the live chart, the page drawn again around them) took 5.64 s for one run
# of 200 steps (4.74 s estimated: 1.19 times) and 8.49 s for two runs of 100 steps (6.59 s
# estimated: 1.29 times). The training alone costs 1.00-1.06 times its estimate there
# (bench/step_cost.json "caps"); the rest is the page's own work.
CUSTOM_ZERO_INIT_S = 2.8
ANSWER_OVERRUN = 1.29


def class_budget(
    visitors: int,
    over_s: float,
    fixed_s: float = CUSTOM_ZERO_INIT_S,
    cores: int = 1,
    overrun: float = ANSWER_OVERRUN,
) -> int:
    """The largest whole budget per submission (estimated CPU seconds) at which a class fits
    the server: each of ``visitors`` arriving over ``over_s`` seconds brings ``fixed_s``
    (its custom zero-init's answer) and one submission at the budget, whose answer at the
    caps takes ``overrun`` times its estimate, and the server trains on ``cores`` (one
    slice at a time per process: 1), so visitors x (fixed_s + budget x overrun) <= cores x
    over_s."""
    return math.floor((cores * over_s / visitors - fixed_s) / overrun)
