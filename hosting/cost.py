"""What a training costs before it runs: its CPU seconds on one core, from the measured
cost of its shapes (bench/step_cost.py measures the constants below and writes
bench/step_cost.json; bench/README.md "The cost of a form" gives the machine and load).

Each run pays, every step, LAYER_S per layer (the ops' fixed cost), ELEM_S per activation
(batch row x hidden unit x layer: the elementwise ops) and MAC_S per multiply-add (batch x
(block x n_embd x H + (layers - 1) x H^2 + H x vocab)), forward and backward together;
and once, its evaluation (the live curve's points and the final losses on the train and
dev splits: ENGINE_EVAL_ROWS distinct contexts of the built-in names, EVAL_ROWS rows in
the notebook's arithmetic; DEV_ROWS for a run that measures the dev split only):
EVAL_ELEM_S per activation and EVAL_MAC_S per multiply-add of a row.
The notebook's arithmetic (autograd, its runs one after another) has constants of its
own. A form's cost is the sum of its runs'.

On a server shared by n open trainings a new one gets about 1/(n + 1) of the time (fair
turns, turns.py), so its wall time there is about its CPU seconds x (n + 1).

The demo's budget per submission (ui.settings.DEMO_BUDGET_S) is sized for a class
(class_budget): n visitors arriving over T seconds, each asking for a custom zero-init and
one submission at the budget, fit a server process's one training core (one slice at a
time) when n x (zero-init + budget x CAPS_OVERRUN) <= T, CAPS_OVERRUN the measured cost
of a form at the caps over its estimate.
"""

from __future__ import annotations

import math

from mlp_core.config import RunConfig

__all__ = [
    "class_budget",
    "cpu_seconds",
    "eval_features",
    "fitting",
    "run_macs",
    "step_features",
    "wall_seconds",
]

VOCAB = 27  # the built-in names' (an upload's may differ a little: a letter's worth)
# rows evaluated once per run, on the built-in names (block size 3): the notebook's
# arithmetic evaluates every train and dev row; the engine each distinct context once
# (mlp_core/fast/evaluate.py): 5,427 training and 2,932 dev contexts at the end, and the
# 1,382 of the 4,096-row dev sample behind each curve point (41; evaluation "dev": 6)
EVAL_ROWS = 171_806 + 21_500
ENGINE_EVAL_ROWS = 5_427 + 2_932 + 41 * 1_382
DEV_ROWS = 2_932 + 6 * 1_382  # evaluation "dev" (the landscape's cells)
# measured by bench/step_cost.py (bench/step_cost.json): seconds, one core, one thread
ENGINE = {
    "LAYER_S": 3e-5,
    "ELEM_S": 4.4e-9,
    "MAC_S": 5.6e-11,
    "EVAL_ELEM_S": 5.1e-9,
    "EVAL_MAC_S": 4.8e-11,
}
NOTEBOOK = {
    "LAYER_S": 0.00016,
    "ELEM_S": 5.3e-9,
    "MAC_S": 5.7e-11,
    "EVAL_ELEM_S": 1.5e-8,
    "EVAL_MAC_S": 1.4e-11,
}
STEP_TERMS = ("LAYER_S", "ELEM_S", "MAC_S")
EVAL_TERMS = ("EVAL_ELEM_S", "EVAL_MAC_S")


def run_macs(cfg: RunConfig, vocab: int = VOCAB) -> float:
    """Multiply-adds of one step of one run (its Linear layers on a batch)."""
    m, b = cfg.model, cfg.train.batch_size
    h = m.n_hidden
    return b * (cfg.data.block_size * m.n_embd * h + (m.n_layers - 1) * h * h + h * vocab)


def step_features(cfg: RunConfig, vocab: int = VOCAB) -> tuple[float, float, float]:
    """(layers, activations, multiply-adds) of one step of one run."""
    m = cfg.model
    return (m.n_layers, cfg.train.batch_size * m.n_hidden * m.n_layers, run_macs(cfg, vocab))


def eval_features(cfg: RunConfig, vocab: int = VOCAB) -> tuple[float, float]:
    """(activations, multiply-adds) of one run's evaluation (TrainConfig.evaluation "dev":
    the dev split's rows only)."""
    m = cfg.model
    if cfg.train.arithmetic == "notebook":
        rows = EVAL_ROWS
    else:
        rows = DEV_ROWS if cfg.train.evaluation == "dev" else ENGINE_EVAL_ROWS
    per_row = run_macs(cfg, vocab) / cfg.train.batch_size
    return (rows * m.n_hidden * m.n_layers, rows * per_row)


def cpu_seconds(cfgs: list[RunConfig], vocab: int = VOCAB) -> float:
    """Estimated CPU seconds (one core) to train these runs."""
    total = 0.0
    for c in cfgs:
        k = NOTEBOOK if c.train.arithmetic == "notebook" else ENGINE
        step = sum(f * k[t] for f, t in zip(step_features(c, vocab), STEP_TERMS))
        once = sum(f * k[t] for f, t in zip(eval_features(c, vocab), EVAL_TERMS))
        total += c.train.steps * step + once
    return total


def wall_seconds(cfgs: list[RunConfig], open_trainings: int, vocab: int = VOCAB) -> float:
    """Estimated seconds to train these runs beside ``open_trainings`` others."""
    return cpu_seconds(cfgs, vocab) * (open_trainings + 1)


def fitting(groups: list[list[RunConfig]], budget: float, vocab: int = VOCAB) -> int:
    """How many of these groups of runs, taken in order, fit in ``budget`` CPU seconds
    together (a sweep's stacks: the first ones train in one submission)."""
    total = 0.0
    for n, group in enumerate(groups):
        total += cpu_seconds(group, vocab)
        if total > budget:
            return n
    return len(groups)


# measured CPU seconds over the estimate of the demo's heaviest form, 2 runs of 6 x 200 at
# batch 1,024 for 100 steps (one process, one thread, load 1.2): 7.85 s against 5.66 s.
# The fit prices a wide run's evaluation at about half its cost (bench/step_cost.json:
# 0.52 for one run of 6 x 200), so a form at the caps runs over its estimate by this much
CAPS_OVERRUN = 1.39


def class_budget(
    visitors: int, over_s: float, fixed_s: float, cores: int = 1, overrun: float = CAPS_OVERRUN
) -> int:
    """The largest whole budget per submission (CPU seconds) at which a class fits the
    server: each of ``visitors`` arriving over ``over_s`` seconds brings ``fixed_s`` (its
    custom zero-init) and one submission at the budget, which at the caps costs
    ``overrun`` times its estimate, and the server trains on ``cores`` (one slice at a time
    per process: 1), so visitors x (fixed_s + budget x overrun) <= cores x over_s."""
    return math.floor((cores * over_s / visitors - fixed_s) / overrun)
