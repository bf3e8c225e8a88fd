"""Question 1: train with every weight and bias zero next to a proper (kaiming) init, and
explain from the measurements which parameters trained and why.

The experiment's shape (as bn_fold.py's): zero_init_configs -> the two runs (stored or
trained) -> zero_init_report, a ZeroInitReport -> its text. ``measure`` collects the facts
(gradients, activations at step 0, distinct neurons, losses against baselines computed
from the loaded data); zero_init_text.py writes the answer and judges the user's draft
from them alone.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from .config import RunConfig
from .data import Dataset, baselines
from .model import layer_index
from .store import RunStore, run_experiment
from .train import ProgressFn, RunOutcome
from .zero_init_text import DRAFT, EFFECTIVE_REL, answer, assess_draft

ACT_AT_ZERO = {"tanh": math.tanh(0.0), "sigmoid": 0.5, "relu": 0.0}  # f(0)


@dataclass
class ZeroInitReport:
    """Everything the page and the CLI show, from the zero-init and the kaiming run.
    Pairs are {"zero": ..., "kaiming": ...}."""

    config: dict  # the zero-init run's RunConfig.to_dict()
    status: dict
    diverged_at: dict
    params: list[dict]  # the zero-init run's parameter table
    params_kaiming: list[dict]
    train_loss: dict
    val_loss: dict
    curves: dict
    baselines: dict[str, float]
    facts: dict  # measure(): what the answer is written from
    answer: str  # the verdict, in words (zero_init_text.answer)
    draft: str
    draft_assessment: list[dict]
    diagnostics: dict

    def to_json(self) -> dict:
        """The CLI's JSON: every field but the diagnostics."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "diagnostics"
        }


def zero_init_configs(cfg: RunConfig) -> list[RunConfig]:
    """The pair trained side by side: all-zero weights and biases vs kaiming, same seed."""
    return [cfg.replace(init="zeros"), cfg.replace(init="kaiming")]


def zero_init_experiment(
    cfg: RunConfig,
    ds: Dataset,
    store: RunStore | None = None,
    on_progress: ProgressFn | None = None,
) -> ZeroInitReport:
    """Train (or fetch) both runs and report."""
    return run_experiment(zero_init_configs(cfg), zero_init_report, ds, store, on_progress)


def _pair(zero: RunOutcome, good: RunOutcome, key: str):
    return {"zero": zero.metrics[key], "kaiming": good.metrics[key]}


def zero_init_report(zero: RunOutcome, good: RunOutcome, ds: Dataset) -> ZeroInitReport:
    """The report, computed from the two runs' measurements."""
    base = baselines(ds, zero.config.data.block_size)
    facts = measure(zero, base)
    return ZeroInitReport(
        config=zero.config.replace(init="zeros").to_dict(),
        status={"zero": zero.status, "kaiming": good.status},
        diverged_at=_pair(zero, good, "diverged_at"),
        params=zero.metrics["params"],
        params_kaiming=good.metrics["params"],
        train_loss=_pair(zero, good, "train_loss"),
        val_loss=_pair(zero, good, "val_loss"),
        curves=_pair(zero, good, "curve"),
        baselines=base,
        facts=facts,
        answer=answer(facts),
        draft=DRAFT,
        draft_assessment=assess_draft(facts),
        diagnostics=_pair(zero, good, "diagnostics"),
    )


def _hidden_weights(params: list[dict]) -> list[dict]:
    """Weight matrices between hidden layers and into them (not the output Linear)."""
    weights = [p for p in params if "distinct_neurons" in p]
    return weights[:-1]


def measure(zero: RunOutcome, base: dict[str, float]) -> dict:
    """The facts the answer is written from."""
    m, cfg = zero.metrics, zero.config.model
    params = m["params"]
    acts = m["diagnostics"]["activations"]
    first = [(row["mean"][0], row["std"][0]) for row in acts.values()] if acts else []
    hidden = _hidden_weights(params)
    trained = [p["name"] for p in params if p["trained"]]
    top = max((p["grad_norm_max"] or 0.0) for p in params) or 1.0
    effective = [
        p["name"]
        for p in params
        if p["trained"] and (p["grad_norm_max"] or 0.0) >= EFFECTIVE_REL * top
    ]
    output = [p["name"] for p in params if p["name"].startswith(f"layers.{_last_layer(params)}.")]
    val = m["val_loss"]
    return {
        "activation": cfg.activation,
        "batchnorm": cfg.batchnorm,
        "act_at_zero": ACT_AT_ZERO[cfg.activation],
        "status": zero.status,
        "diverged_at": m["diverged_at"],
        "n_params": len(params),
        "trained": trained,
        "effective": effective,
        "grad_rel": {p["name"]: (p["grad_norm_max"] or 0.0) / top for p in params},
        "untrained": [p["name"] for p in params if not p["trained"]],
        "output_params": output,
        "hidden_zero_at_start": bool(first) and all(abs(a) == 0 and s == 0 for a, s in first),
        "hidden_mean_at_start": [a for a, _ in first],
        "hidden_identical_at_start": bool(first) and all(s == 0 for _, s in first),
        "hidden_constant_at_end": bool(acts) and all(r["std"][-1] == 0 for r in acts.values()),
        "hidden_distinct": [p["distinct_neurons"] for p in hidden],
        "hidden_rank": [p["rank"] for p in hidden],
        "n_hidden": cfg.n_hidden,
        "val_loss": val,
        "nearest_baseline": _nearest(val, base) if val is not None and math.isfinite(val) else None,
        "gap_to_unigram": val - base["unigram_entropy"] if val is not None else None,
        "baselines": base,
    }


def _last_layer(params: list[dict]) -> int:
    return max(i for p in params if (i := layer_index(p["name"])) is not None)


def _nearest(val: float, base: dict[str, float]) -> str:
    return min(base, key=lambda k: abs(base[k] - val))
