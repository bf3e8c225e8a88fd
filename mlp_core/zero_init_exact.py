"""Which gradients exist at zero init, decided in exact arithmetic, and how big they are.

With every Linear weight and bias zero, all units of a hidden layer start equal and get
equal gradients, so in exact arithmetic they stay equal for ever (permuting a layer's units
is a symmetry of the loss). The net then is a *reduced net*: per hidden layer one value per
example; the first Linear is one column ``v`` repeated, each hidden Linear one number ``w``
repeated, the output Linear one row ``u`` repeated (n_hidden units each). That net is
cheap at any width, so this module trains it step by step on the run's own minibatches.

Existence is decided structurally, never by comparing a float with a threshold. Beside the
values it carries, step by step through forward, backward and update, three exact facts:

- *zero*: a quantity that is exactly 0 (a zero parameter, a product with one, a sum that
  cancels by construction);
- *constant over the batch* (K): the same value for every example (a layer fed by zero
  weights, a BatchNorm whose input is constant, whose output is then its beta);
- *zero batch mean* (ZM): BatchNorm's backward always returns a gradient whose sum over the
  batch is exactly 0 (its output does not change when its input shifts).

A weight gradient sum_b h_b * g_b is exactly 0 when h is K and g has ZM; a bias or beta
gradient sum_b g_b when g has ZM; anything times a zero is 0. One data-dependent exact
case: at step 0 the zero-init net predicts exactly 1/V, so an output gradient column
sum_b (1/V - y_bc) is 0 exactly when V * count_c = B. Everything else nonzero in these
terms is nonzero (a sum of transcendental terms that does not cancel by structure).

Magnitudes are the reduced net's values in ``Scaled`` arithmetic (float64 mantissas with
an unbounded exponent), so a gradient of 1e-1509 is reported as such. The analysis steps,
past the run's last step if need be, until the pattern of zero parameters and zero
gradients has repeated for two steps (from there every step repeats it), or MAX_STEPS.
Steps whose minibatch makes a data-dependent zero (every context alike, every target
alike, an exactly uniform column) do not count toward that repetition: such a batch can
only zero a gradient for one step, and the next ordinary batch may bring one a tensor never
had.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .config import RunConfig
from .model import init_run
from .reduced_net import ReducedNet, Undefined
from .scaled import Scaled

MAX_STEPS = 400  # a safety net: every configuration reaches its fixed point far sooner


@dataclass
class ExactResult:
    names: list[str]
    steps: int  # steps analysed
    fixed_point: bool  # the pattern repeated: later steps repeat it
    onset: dict[str, int | None]  # first step with a nonzero exact gradient
    log10: dict[str, list[float | None]]  # log10 of each step's exact gradient norm
    nonzero_after: dict[str, bool]  # the parameter is nonzero after the run's last step
    context_dependent: bool  # the trained net's output changes with the context, exactly
    undefined: str | None = None  # why the exact computation has no value
    # tensors with a step whose gradient is not structurally zero but too small or too
    # cancelling to resolve in 64-bit mantissas (-inf in log10): zero or not, undecided
    undecided: list[str] = field(default_factory=list)

    def exists(self, name: str) -> bool:
        return self.onset.get(name) is not None

    def at_onset(self, name: str) -> float | None:
        t = self.onset.get(name)
        return None if t is None else self.log10[name][t]


def minibatches(cfg: RunConfig, n_train: int):
    """The run's minibatches' row indices, step by step: the stream both arithmetics draw
    (model.init_and_generator, rng "own"; drawing (n, B) at once gives the same rows)."""
    g = torch.Generator().manual_seed(cfg.train.seed)
    while True:
        yield torch.randint(0, n_train, (cfg.train.batch_size,), generator=g).numpy()


def analyse(cfg: RunConfig, Xtr: torch.Tensor, Ytr: torch.Tensor, V: int) -> ExactResult:
    """The exact gradient facts of a zero-init run (module docstring). The analysis goes on
    past the run's last step to the fixed point, so the facts say what more steps would
    bring; ``nonzero_after`` and ``context_dependent`` are those of the run's last step.

    The reduced net runs twice, with float64 and with long double mantissas: which values
    are zero is the same in both (it is structural); a size the two put more than
    SIZE_AGREE apart in log10 is ill-conditioned (a difference of nearly equal numbers)
    and is reported as nonzero, size unresolved (-inf)."""
    C = init_run(cfg.model, V, cfg.data.block_size, cfg.train.seed)["C"].double().numpy()
    X, Y = Xtr.numpy(), Ytr.numpy()
    coarse = _trace(cfg, ReducedNet(cfg, V, C), X, Y, MAX_STEPS)
    fine = _trace(cfg, ReducedNet(cfg, V, C, np.longdouble), X, Y, coarse["steps"], False)
    logs = {nm: [_agree(a, b) for a, b in zip(coarse["logs"][nm], fine["logs"][nm])]
            for nm in coarse["names"]}  # fmt: skip
    zeros, context = coarse["at_end"]
    return ExactResult(
        names=coarse["names"],
        steps=coarse["steps"],
        fixed_point=coarse["fixed"],
        onset={
            nm: next((t for t, v in enumerate(lg) if v is not None and v > -math.inf), None)
            for nm, lg in logs.items()
        },  # fmt: skip
        undecided=[nm for nm, lg in logs.items() if -math.inf in lg],
        log10=logs,
        nonzero_after={nm: not z for nm, z in zip(coarse["names"], zeros)},
        context_dependent=coarse["undefined"] is None and context,
        undefined=coarse["undefined"],
    )


SIZE_AGREE = 1e-6  # log10: float64 and long double sizes this close are resolved


def _agree(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None if a is None and b is None else -math.inf
    return b if abs(a - b) <= SIZE_AGREE else -math.inf


def _trace(cfg: RunConfig, net: ReducedNet, X, Y, max_steps: int, stop: bool = True) -> dict:
    """Step the reduced net on the run's minibatches until the fixed point (or
    max_steps; all of them when not ``stop``): each step's log10 gradient norms, and the
    state at the run's last step."""
    batches = minibatches(cfg, len(Y))
    logs: dict[str, list] = {nm: [] for nm in net.names}
    patterns: list[tuple] = []
    out = {"undefined": None, "fixed": False, "at_end": None, "names": net.names}
    for t in range(max_steps):
        if t == cfg.train.steps:
            out["at_end"] = _state(net)
        rows = next(batches)
        ctx, y = X[rows], Y[rows]
        same_x = bool((ctx == ctx[:1]).all())
        xK = net.p["C"].is_zero or same_x
        net.special = same_x and len(rows) > 1  # set again by backward's own data cases
        try:
            grads = net.backward(net.forward(ctx, xK), ctx, y, xK)
        except Undefined as err:
            out["undefined"] = str(err)
            break
        for nm in net.names:
            logs[nm].append(net.norm_log10(nm, grads.get(nm, Scaled.zeros(()))))
        net.update(grads, lr_at(cfg, t))
        patterns.append(
            (net.special,) + tuple(logs[nm][-1] is None for nm in net.names) + _state(net)[0]
        )
        repeated = len(patterns) >= 3 and patterns[-1] == patterns[-2] == patterns[-3]
        if stop and repeated and not net.special:
            out["fixed"] = True
            break
    out["at_end"] = out["at_end"] or _state(net)
    return out | {"logs": logs, "steps": len(patterns)}


def _state(net: ReducedNet) -> tuple[tuple, bool]:
    return tuple(net.p[nm].is_zero for nm in net.names), net.context_dependent()


def lr_at(cfg: RunConfig, t: int) -> float:
    decay = cfg.train.lr_decay_step
    return cfg.train.lr / 10 if decay and t >= decay else cfg.train.lr
