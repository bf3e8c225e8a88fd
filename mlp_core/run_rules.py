"""What a run measures and when, the same in both arithmetics (stack.py, the engine's
stacks; notebook.py, the notebook's loop): the live curve's points, when a run has
diverged and why, which steps keep their gradient norms, the band of minibatch losses."""

from __future__ import annotations

import math

import torch

CURVE_POINTS = 40  # points of the live loss curve
# TrainConfig.evaluation "dev" (the init landscape's cells): the curve's points are this
# far apart (steps / DEV_CURVE_POINTS), and only those of the run's last half are measured,
# the points regime.regime reads (regime.MIN_POINTS + 1 of them)
DEV_CURVE_POINTS = 10
CURVE_VAL_ROWS = 4096  # dev rows behind each live val point (a sample: full splits are slow)
DIVERGED_FACTOR = 10.0  # a loss this many times the uniform baseline counts as diverged
# gradient norms (the parameter table's "grad_norm_max") are taken at every one of the
# first steps, then at each diagnostics capture (every steps/50): tracking them on more
# steps costs measurable speed (ARCHITECTURE.md)
GRAD_TRACK_FIRST = 100


def curve_sample(n_rows: int) -> torch.Tensor:
    """The rows of a split behind the live curve: CURVE_VAL_ROWS of them (or all), in a
    fixed shuffled order (seed 0), the same for every run."""
    rows = torch.randperm(n_rows, generator=torch.Generator().manual_seed(0))
    return rows[:CURVE_VAL_ROWS]


def train_point_from(points: list[int], done: int, every: int) -> int:
    """The first step whose minibatch loss the curve's train point after ``done`` steps
    averages: the previous point's step (its losses are the steps after it), or for a
    curve's first point ``every`` steps back. A last point closer than ``every`` to the one
    before it averages only its own steps."""
    return points[-1] if points else max(0, done - every)


def default_diag_every(steps: int) -> int:
    """Steps between diagnostics captures (about 50 a run, and its last step)."""
    return max(1, steps // 50)


def curve_points(evaluation: str) -> int:
    """steps / this: the steps between a run's curve points, under its
    TrainConfig.evaluation."""
    return DEV_CURVE_POINTS if evaluation == "dev" else CURVE_POINTS


def curve_from(evaluation: str, steps: int) -> float:
    """The curve's first step: 0 (the initial weights' losses), or, for evaluation "dev",
    half the run's steps."""
    return steps / 2 if evaluation == "dev" else 0


def batch_loss_band(losses: torch.Tensor) -> list[float] | None:
    """The 0.5th and 99.5th percentiles of a run's minibatch losses over the last half of
    its steps (what a notebook printing one minibatch loss now and then would see)."""
    tail = losses[len(losses) // 2 :].double()
    tail = tail[torch.isfinite(tail)]
    if len(tail) < 2:
        return None
    return torch.quantile(tail.cpu(), torch.tensor([0.005, 0.995], dtype=torch.float64)).tolist()


def divergence(step: int | None, loss: float | None, bound: float) -> dict:
    """Why a run diverged, for its metrics: "diverged_reason" "above bound" (the minibatch
    loss of its step ``step`` was finite and at or above ``bound``) or "not finite" (NaN or
    infinite, or, with a loss below the bound, a full-split loss that was), None for a run
    that did not diverge; "diverged_loss": that loss above the bound, else None;
    "diverged_bound": the bound, DIVERGED_FACTOR x ln(vocab)."""
    above = step is not None and loss is not None and math.isfinite(loss) and loss >= bound
    return {
        "diverged_reason": None if step is None else "above bound" if above else "not finite",
        "diverged_loss": loss if above else None,
        "diverged_bound": bound,
    }
