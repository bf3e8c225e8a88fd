"""Question 2: train an MLP with BatchNorm, fold every BN away, and prove on the dev split
that inference gives the same outputs, and the same folded weights as torch's own fusion.

The experiment's shape (as zero_init.py's): fold_configs -> the run (stored or trained)
-> fold_report, a FoldReport with its verdict -> its text (bn_fold_text.py). The algebra
(fold_linear_bn, fold_bn_linear, fold_model) lives in folding.py and is re-exported here;
this module measures a fold of a trained run.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from . import bn_fold_text
from .config import RunConfig
from .data import Dataset, make_splits
from .fast.evaluate import EVAL_ROWS
from .folding import (
    FoldedMLP,
    FoldError,
    bn_scale_shift,
    copy_as,
    count_params,
    describe,
    fold_bn_linear,
    fold_layers,
    fold_linear_bn,
    fold_model,
    linear_bn_pairs,
    round_off_scale,
    torch_reference_diff,
)
from .model import MLP, from_state
from .train import Diverged, RunOutcome

__all__ = [
    "FOLD_DEFAULT",
    "FoldError",
    "FoldReport",
    "FoldedMLP",
    "Proof",
    "checkpoint_bytes",
    "fold_bn_linear",
    "fold_configs",
    "fold_layers",
    "fold_linear_bn",
    "fold_model",
    "fold_report",
    "inference_seconds",
    "models",
    "proof",
    "timing",
]

TIMING_REPEATS = 5  # best of this many dev-split passes per model: the machine is shared
SCATTER_POINTS = 2000  # (row, class) pairs of dev logits kept for the page's scatter
EXAMPLE_WEIGHTS = 3  # entries of the example neuron's W column shown


@dataclass
class FoldReport:
    metrics: dict  # JSON-able: the CLI's output and the page's numbers, verdict and text
    folded_state: dict[str, torch.Tensor]  # the folded model's weights, no K dim
    scatter: dict[str, list[float]]  # "bn" and "folded": the same sampled dev logits
    same: bool  # the verdict: the same forward pass (bn_fold_text.same_forward_pass)
    text: str  # the answer in words (bn_fold_text.answer)


# the fold page's first answer (its DEFAULTS, seed 42): 2 Linear->BN->tanh blocks of 100, then
# the output Linear->BN, 2,000 steps; warm.py trains it ahead (tests/test_warm.py)
FOLD_DEFAULT = RunConfig().replace(n_layers=2, batchnorm=True)


def bn_model(outcome: RunOutcome, ds: Dataset) -> MLP:
    """The trained run rebuilt, in eval mode."""
    cfg = outcome.config
    return from_state(cfg.model, outcome.state, ds.vocab_size, cfg.data.block_size)


def models(outcome: RunOutcome, ds: Dataset) -> tuple[MLP, FoldedMLP]:
    """The trained run rebuilt in eval mode, and its folded copy."""
    model = bn_model(outcome, ds)
    return model, fold_model(model)


@torch.inference_mode()
def logits(model, X: torch.Tensor, chunk: int = EVAL_ROWS) -> torch.Tensor:
    """Run 0's logits (N, vocab_size) for the rows of X (N, block_size), chunk rows a call."""
    return torch.cat([model(X[i : i + chunk][None])[0] for i in range(0, len(X), chunk)])


def inference_seconds(named: dict, X: torch.Tensor) -> dict[str, float]:
    """Per model, the best wall time of TIMING_REPEATS passes over X on one thread; the
    models take turns so that load from other processes hits them alike."""
    best = dict.fromkeys(named, float("inf"))
    threads = torch.get_num_threads()
    # one thread, as in training: more are slower and erratic here (ARCHITECTURE.md)
    torch.set_num_threads(1)
    try:
        for _ in range(TIMING_REPEATS):
            for name, model in named.items():
                t0 = time.perf_counter()
                logits(model, X)
                best[name] = min(best[name], time.perf_counter() - t0)
    finally:
        torch.set_num_threads(threads)
    return best


def train_mode_logits(outcome: RunOutcome, ds: Dataset, X: torch.Tensor) -> torch.Tensor:
    """The wrong comparison: the BN model left in training mode, fed X in minibatches of
    the run's batch size (a last partial batch is dropped), so every BN normalises with
    its minibatch's statistics instead of the running ones."""
    model, _ = models(outcome, ds)  # a fresh copy: training mode moves running stats
    model.set_training(True)
    B = min(outcome.config.train.batch_size, len(X))
    return logits(model, X[: len(X) // B * B], chunk=B)


def neuron_example(model: MLP, j: int = 0) -> dict | None:
    """Neuron j of the first Linear→BN pair, folded by hand: the page's worked example."""
    pairs = linear_bn_pairs(model.layers)
    if not pairs:
        return None
    i, linear, bn = pairs[0]
    folded = fold_linear_bn(linear, bn)

    def at(t: torch.Tensor) -> float:  # t (K, 1, fan_out)
        return float(t[0, 0, j])

    return {
        "linear": f"layers.{i}",
        "bn": f"layers.{i + 1}",
        "neuron": j,
        "fan_in": linear.weight.shape[1],
        "w": linear.weight[0, :EXAMPLE_WEIGHTS, j].tolist(),
        "has_bias": linear.bias is not None,  # the lecture's Linears before a BN have none
        "b": 0.0 if linear.bias is None else at(linear.bias),
        "gamma": at(bn.gamma),
        "beta": at(bn.beta),
        "running_mean": at(bn.running_mean),
        "running_var": at(bn.running_var),
        "eps": bn.eps,
        "s": at(bn_scale_shift(bn)[0]),
        "w_folded": folded.weight[0, :EXAMPLE_WEIGHTS, j].tolist(),
        "b_folded": at(folded.bias),
    }


@dataclass
class Proof:
    """A fold measured against the BN net on rows X (fold_report: the whole dev split)."""

    folded: FoldedMLP
    bn_logits: torch.Tensor  # (N, vocab_size), in the BN net's dtype
    folded_logits: torch.Tensor
    metrics: dict  # JSON-able: the numbers bn_fold_text's verdict reads, and its tolerances


def _max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).abs().max())


def proof(model: MLP, X: torch.Tensor, Y: torch.Tensor, fold=fold_model) -> Proof:
    """Fold model (eval mode) with fold, and measure the folded net against it: in the
    model's precision, and in float64 (both rebuilt from the same weights, the fold redone
    there); the BN net's float32 logits against its float64 ones give the round-off floor
    that bn_fold_text's tolerances grow from."""
    folded = fold(model)
    bn_logits, folded_logits = logits(model, X), logits(folded, X)
    exact = copy_as(model, torch.float64)
    exact_logits = logits(exact, X)
    f32 = logits(copy_as(model, torch.float32), X)  # bn_logits when the model is float32
    agree = (bn_logits.argmax(1) == folded_logits.argmax(1)).double().mean()
    exact_folded = fold(exact)
    m = {
        "dtype": str(bn_logits.dtype).removeprefix("torch."),
        "dev_rows": len(Y),
        "max_abs_logit": float(bn_logits.abs().max()),
        "round_off_scale": round_off_scale(exact_folded, X),
        "max_abs_diff_logits": _max_diff(bn_logits, folded_logits),
        "round_off_floor": _max_diff(f32, exact_logits),
        "max_abs_diff_logits_float64": _max_diff(exact_logits, logits(exact_folded, X)),
        "argmax_agreement": float(agree),
        "val_loss_bn": _loss(bn_logits, Y),
        "val_loss_folded": _loss(folded_logits, Y),
    }
    return Proof(folded, bn_logits, folded_logits, m | bn_fold_text.tolerances(m))


def _scatter(a: torch.Tensor, b: torch.Tensor) -> dict[str, list[float]]:
    idx = torch.randperm(a.numel(), generator=torch.Generator().manual_seed(0))
    idx = idx[:SCATTER_POINTS]
    return {"bn": a.flatten()[idx].tolist(), "folded": b.flatten()[idx].tolist()}


def _loss(logits_: torch.Tensor, Y: torch.Tensor) -> float:
    return float(F.cross_entropy(logits_.double(), Y))


def _buffers(model) -> int:
    return sum(b[0].numel() for _, b in model.named_buffers())


def fold_report(outcome: RunOutcome, ds: Dataset) -> FoldReport:
    """Fold a trained run and measure, over the whole dev split in eval mode, how far the
    folded model's outputs are from the BN model's."""
    m, cfg = outcome.metrics, outcome.config
    if outcome.status == "diverged":
        raise Diverged(
            f"the BatchNorm run diverged at step {m['diverged_at']} "
            "(loss not finite or exploding); try a smaller --lr"
        )
    model = bn_model(outcome, ds)
    sp = make_splits(ds, cfg.data.block_size)
    X, Y = sp.Xdev, sp.Ydev
    pr = proof(model, X, Y)
    folded, bn_logits = pr.folded, pr.bn_logits
    wrong = train_mode_logits(outcome, ds, X)
    seconds = inference_seconds({"bn": model, "folded": folded}, X)
    metrics = {
        "config": cfg.to_dict(),
        "data_sha256": ds.sha256,
        "cached": outcome.cached,
        "steps": m["steps"],
        "train_seconds": m["seconds"],
        "train_val_loss": m["val_loss"],
        "layers_folded": len(folded.folds),
        "folds": folded.folds,
        "not_folded": folded.kept,
        "architecture_before": [describe(layer) for layer in model.layers],
        "architecture_after": folded.architecture(),
        "params_before": count_params(model),
        "params_after": count_params(folded),
        "buffers_before": _buffers(model),
        "buffers_after": _buffers(folded),
        **pr.metrics,
        "max_abs_diff_vs_torch_reference": torch_reference_diff(model.layers),
        "eval_seconds_bn": seconds["bn"],
        "eval_seconds_folded": seconds["folded"],
        "train_mode_diff": float((wrong - bn_logits[: len(wrong)]).abs().max()),
        "train_mode_batch_size": min(cfg.train.batch_size, len(Y)),
        "neuron_example": neuron_example(model),
    }
    same, text = bn_fold_text.same_forward_pass(metrics), bn_fold_text.answer(metrics)
    metrics |= {"same_forward_pass": same, "answer": text}
    scatter = _scatter(bn_logits, pr.folded_logits)
    return FoldReport(metrics, folded.state_dict(), scatter, same, text)


def timing(outcome: RunOutcome, ds: Dataset) -> dict[str, float]:
    """Both models rebuilt and timed again on the dev split (inference_seconds)."""
    model, folded = models(outcome, ds)
    X = make_splits(ds, outcome.config.data.block_size).Xdev
    return inference_seconds({"bn": model, "folded": folded}, X)


def checkpoint_bytes(cfg: RunConfig, report: FoldReport) -> bytes:
    """The folded weights as a torch.save file: {"config", "architecture", "state_dict"}."""
    buf = io.BytesIO()
    arch = report.metrics["architecture_after"]
    torch.save(
        {"config": cfg.to_dict(), "architecture": arch, "state_dict": report.folded_state}, buf
    )
    return buf.getvalue()


def fold_configs(cfg: RunConfig) -> list[RunConfig]:
    """The one run to fold: cfg itself, which must have BatchNorm."""
    if not cfg.model.batchnorm:
        raise FoldError("this model has no BatchNorm to fold (batchnorm is off)")
    return [cfg]
