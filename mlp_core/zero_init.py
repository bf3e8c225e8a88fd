"""Question 1: train with every weight and bias zero next to a comparison init, and explain
from measurements which parameters trained and why.

The experiment's shape (as bn_fold.py's): zero_init_configs -> the runs (stored or
trained) -> zero_init_report, a ZeroInitReport -> its text. Two runs: the zero-init run and
the comparison run (kaiming by default; same seed, minibatches and arithmetic). The report
also reruns the zero-init run's first steps in float64, once by the engine and once in the
notebook's arithmetic (zero_init_facts.gradient_check): a gradient that exists in exact
arithmetic shows in both at the same size; round-off does not. Every fact the answer uses
is measured in zero_init_facts.py; zero_init_text.py writes only from them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from .config import INITS, ModelConfig, RunConfig
from .data import Dataset, baselines, make_splits
from .model import GAINS, layer_index
from .store import RunStore, run_experiment
from .train import ProgressFn, RunOutcome
from .zero_init_draft import (
    DRAFT,
    DRAFT_SOURCE,
    NOTEBOOK_BATCH_LOSSES,
    NOTEBOOK_VAL_LOSS,
    assess_draft,
)
from .zero_init_facts import (
    CONTEXT_TOL,
    EFFECTIVE_REL,
    SETTLED_DROP,
    context_dependence,
    context_gain,
    dev_forward,
    effective_width,
    gradient_check,
    gradient_kinds,
    settled,
)
from .zero_init_text import answer

ACT_AT_ZERO = {"tanh": math.tanh(0.0), "sigmoid": 0.5, "relu": 0.0}  # f(0)
COMPARE_INITS = tuple(i for i in INITS if i != "zeros")
SPLIT_SPREAD = 1e-3  # neurons count as split once their spread (diagnostics) exceeds this
RUNS = ("zero", "compare")  # the keys of every pair in the report and its JSON
# the zero-init page's first answer (its DEFAULTS, seed 42): the lecture's 6-Linear tanh net,
# 3,000 steps, against kaiming; warm.py trains it ahead (tests/test_warm.py holds the two)
ZERO_INIT_DEFAULT = RunConfig().replace(steps=3000)


@dataclass
class ZeroInitReport:
    """Everything the page and the CLI show. Pairs are {"zero": ..., "compare": ...};
    "compare" is the comparison run, described by ``compare``."""

    config: dict  # the zero-init run's RunConfig.to_dict()
    compare: dict  # the comparison run: init, gain, scale, label
    status: dict
    diverged_at: dict
    params: list[dict]  # the zero-init run's parameter table, with gradient kinds
    params_compare: list[dict]
    train_loss: dict
    val_loss: dict
    curves: dict
    baselines: dict[str, float]
    facts: dict  # measure(): what the answer is written from
    answer: str  # zero_init_text.answer
    draft: str
    draft_source: str
    draft_assessment: list[dict]
    diagnostics: dict

    def to_json(self) -> dict:
        """The CLI's JSON: every field but the diagnostics."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "diagnostics"
        }


def compare_label(m: ModelConfig) -> str:
    """The comparison init in words, e.g. "kaiming init (gain 5/3)"."""
    if m.init == "kaiming":
        gain = GAINS[m.activation] if m.init_gain is None else m.init_gain
        shown = "5/3" if abs(gain - 5 / 3) < 1e-12 else f"{gain:.4g}"
        return f"kaiming init (gain {shown})"
    if m.init == "normal":
        return f"normal init (std {m.init_scale:g})"
    return f"{m.init} init"


def zero_init_configs(
    cfg: RunConfig, compare: str = "kaiming", gain: float | None = None, scale: float = 0.01
) -> list[RunConfig]:
    """The zero-init run and the comparison run (same seed, minibatches, arithmetic).
    Settings of one init never leak into the other's run key."""
    zero = cfg.replace(init="zeros", init_gain=None, init_scale=0.01)
    other = cfg.replace(
        init=compare,
        init_gain=gain if compare == "kaiming" else None,
        init_scale=scale if compare == "normal" else 0.01,
    )
    return [zero, other]


def zero_init_experiment(
    cfg: RunConfig,
    ds: Dataset,
    store: RunStore | None = None,
    on_progress: ProgressFn | None = None,
    **compare,
) -> ZeroInitReport:
    """Train (or fetch) the runs and report; compare: zero_init_configs' keywords."""
    return run_experiment(
        zero_init_configs(cfg, **compare), zero_init_report, ds, store, on_progress
    )


def _pair(zero: RunOutcome, other: RunOutcome, key: str) -> dict:
    return {"zero": zero.metrics.get(key), "compare": other.metrics.get(key)}


def zero_init_report(zero: RunOutcome, other: RunOutcome, ds: Dataset) -> ZeroInitReport:
    """The report, computed from the runs' measurements (and the float64 check)."""
    base = baselines(ds, zero.config.data.block_size)
    facts = measure(zero, other, ds, base)
    return ZeroInitReport(
        config=zero.config.to_dict(),
        compare=facts["compare"],
        status={"zero": zero.status, "compare": other.status},
        diverged_at=_pair(zero, other, "diverged_at"),
        params=_with_kinds(zero.metrics["params"], facts.get("gradients", {})),
        params_compare=other.metrics["params"],
        train_loss=_pair(zero, other, "train_loss"),
        val_loss=_pair(zero, other, "val_loss"),
        curves=_pair(zero, other, "curve"),
        baselines=base,
        facts=facts,
        answer=answer(facts),
        draft=DRAFT,
        draft_source=DRAFT_SOURCE,
        draft_assessment=assess_draft(facts),
        diagnostics=_pair(zero, other, "diagnostics"),
    )


def _with_kinds(params: list[dict], kinds: dict) -> list[dict]:
    """The parameter table with each tensor's gradient kind beside "trained"."""
    out = []
    for p in params:
        k = kinds.get(p["name"], {})
        kind = k.get("kind")
        out.append(
            p | {"gradient_kind": kind, "exact_gradient": kind == "exact", "onset": k.get("onset")}
        )
    return out


def measure(zero: RunOutcome, other: RunOutcome, ds: Dataset, base: dict) -> dict:
    """The facts the answer is written from (documented in README, "zero-init --json")."""
    m, cfg = zero.metrics, zero.config
    f = {
        "arithmetic": cfg.train.arithmetic,
        "activation": cfg.model.activation,
        "batchnorm": cfg.model.batchnorm,
        "bn_eps": cfg.model.bn_eps,
        "act_at_zero": ACT_AT_ZERO[cfg.model.activation],
        "n_hidden": cfg.model.n_hidden,
        "n_layers": cfg.model.n_layers,
        "compare": {
            "init": other.config.model.init,
            "gain": other.config.model.init_gain,
            "scale": other.config.model.init_scale if other.config.model.init == "normal" else None,
            "label": compare_label(other.config.model),
        },
        "status": {"zero": zero.status, "compare": other.status},
        "diverged_at": _pair(zero, other, "diverged_at"),
        "val_loss": _pair(zero, other, "val_loss"),
        "baselines": base,
        "context_tol": CONTEXT_TOL,
        "settled_drop": SETTLED_DROP,
        "effective_rel": EFFECTIVE_REL,
        "n_params": len(m["params"]),
        "trained": [p["name"] for p in m["params"] if p["trained"]],
        "output_params": _output_params(m["params"]),
    }
    f |= _start(m.get("diagnostics"))
    if zero.status == "diverged":
        return f
    check = gradient_check(zero.config, ds)
    f |= _gradients(zero, check)
    f |= _per_run(zero, other, ds)
    f["compare_trained"] = (
        other.status == "ok" and other.metrics["val_loss"] < base["dev_unigram"] - 0.05
    )
    f["compare_grad_ratio"] = _first_to_last(other.metrics["params"])
    f["symmetry_split_step"] = _split_step(m.get("diagnostics"))
    f["notebook_numbers"] = _notebook_numbers(zero, check["dev_first"])
    return f


def _output_params(params: list[dict]) -> list[str]:
    last = max(i for p in params if (i := layer_index(p["name"])) is not None)
    first = max(
        i
        for p in params
        if (i := layer_index(p["name"])) is not None and p["name"].endswith("weight")
    )
    return [
        p["name"]
        for p in params
        if (i := layer_index(p["name"])) is not None and first <= i <= last
    ]


def _start(diag: dict | None) -> dict:
    """The hidden activations at step 0 (the first diagnostics capture)."""
    acts = (diag or {}).get("activations") or {}
    first = [(row["mean"][0], row["std"][0]) for row in acts.values()]
    return {
        "hidden_zero_at_start": bool(first) and all(a == 0 and s == 0 for a, s in first),
        "hidden_identical_at_start": bool(first) and all(s == 0 for _, s in first),
        "hidden_mean_at_start": [a for a, _ in first],
    }


def _gradients(zero: RunOutcome, check: dict) -> dict:
    """Which tensors get an exact gradient, which only round-off, which none."""
    gmax = {p["name"]: p["grad_norm_max"] or 0.0 for p in zero.metrics["params"]}
    e64 = check["engine64"]
    kinds = gradient_kinds(zero.metrics["grad_norms_first"], e64, check["notebook64"], gmax)
    size64 = {n: max(v) if v else 0.0 for n, v in e64.items()}
    exact = [n for n, k in kinds.items() if k["kind"] == "exact"]
    top = max((size64[n] for n in exact), default=0.0) or 1.0
    rel = {n: size64[n] / top for n in exact}
    roundoff = [n for n, k in kinds.items() if k["kind"] == "round-off"]
    return {
        "gradients": kinds,
        "exact": exact,
        "roundoff": roundoff,
        "no_gradient": [n for n, k in kinds.items() if k["kind"] == "none"],
        "vanishing": [n for n in exact if rel[n] < EFFECTIVE_REL],
        "weakest_exact": min(rel.values(), default=None),
        "roundoff_max": max((gmax[n] for n in roundoff), default=0.0),
        "roundoff_grown": [n for n in roundoff if gmax[n] >= EFFECTIVE_REL * max(gmax.values())],
    }


def _per_run(zero: RunOutcome, other: RunOutcome, ds: Dataset) -> dict:
    """Context dependence, effective width and settling of both runs (None where a run
    did not finish)."""
    Y = make_splits(ds, zero.config.data.block_size).Ydev
    out = {
        k: {}
        for k in ("context_dependence", "context_gain", "effective_width", "settled", "loss_change")
    }
    for key, o in zip(RUNS, (zero, other)):
        if o.status != "ok":
            for v in out.values():
                v[key] = None
            continue
        logp, hidden = dev_forward(o, ds)
        out["context_dependence"][key] = context_dependence(logp)
        out["context_gain"][key] = context_gain(logp, Y)
        out["effective_width"][key] = effective_width(hidden)
        s = settled(o.metrics["curve"])
        out["settled"][key], out["loss_change"][key] = s["settled"], s["change"]
    return out


def _first_to_last(params: list[dict]) -> float | None:
    """The first Linear's largest weight gradient over the output Linear's."""
    w = [p["grad_norm_max"] for p in params if p["name"].endswith("weight")]
    if len(w) < 2 or not w[-1] or w[0] is None:
        return None
    return w[0] / w[-1]


def _split_step(diag: dict | None) -> int | None:
    """The first captured step at which some hidden layer's neurons spread apart."""
    if not diag or not diag.get("neuron_spread"):
        return None
    for j, step in enumerate(diag["steps"]):
        if any((s[j] or 0) > SPLIT_SPREAD for s in diag["neuron_spread"].values()):
            return step
    return None


def _notebook_numbers(zero: RunOutcome, first: list[float]) -> dict | None:
    """What the user's notebook printed, against this run: the band of its minibatch losses
    and the step at which a fresh zero-init run has the printed validation loss."""
    band = zero.metrics.get("batch_loss_band")
    if band is None or not first:
        return None
    step = next((i for i, v in enumerate(first) if v <= NOTEBOOK_VAL_LOSS), None)
    return {
        "printed": {"batch_losses": list(NOTEBOOK_BATCH_LOSSES), "val_loss": NOTEBOOK_VAL_LOSS},
        "batch_band": band,
        "batch_size": zero.config.train.batch_size,
        "trained_val": zero.metrics["val_loss"],
        "val_step": step,
        "val_at_step": None if step is None else first[step],
        "val_before": None if not step else first[step - 1],
        "steps_checked": len(first) - 1,
    }
