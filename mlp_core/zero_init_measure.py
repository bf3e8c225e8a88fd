"""Question 1's measurements: every fact the zero-init answer is written from, from the two
runs (zero_init.zero_init_report calls ``measure``). Which gradients exist comes from
zero_init_exact.py; the run's floats, the context, the neurons and the curves from
zero_init_facts.py and regime.py.
"""

from __future__ import annotations

import math

from .config import ModelConfig
from .data import Dataset, make_splits
from .model import GAINS, layer_index
from .regime import beats_unigram, regime, trained
from .train import RunOutcome
from .zero_init_draft import NOTEBOOK_BATCH_LOSSES, NOTEBOOK_VAL_LOSS
from .zero_init_exact import analyse
from .zero_init_facts import (
    context_dependence,
    dev_forward,
    effective_width,
    gradient_facts,
    split_loss,
    wide_context,
)

ACT_AT_ZERO = {"tanh": math.tanh(0.0), "sigmoid": 0.5, "relu": 0.0}  # f(0)
SPLIT_SPREAD = 1e-3  # the spread between neurons (diagnostics) the split step reports
RUNS = ("zero", "compare")  # the keys of every pair in the report and its JSON


def compare_label(m: ModelConfig) -> str:
    """The comparison init in words, e.g. "kaiming init (gain 5/3)"."""
    if m.init == "kaiming":
        gain = GAINS[m.activation] if m.init_gain is None else m.init_gain
        shown = "5/3" if abs(gain - 5 / 3) < 1e-12 else f"{gain:.4g}"
        return f"kaiming init (gain {shown})"
    if m.init == "normal":
        return f"normal init (std {m.init_scale:g})"
    return f"{m.init} init"


def pair(zero: RunOutcome, other: RunOutcome, key: str) -> dict:
    return {"zero": zero.metrics.get(key), "compare": other.metrics.get(key)}


def measure(zero: RunOutcome, other: RunOutcome, ds: Dataset, base: dict) -> dict:
    """The facts the answer is written from (documented in README, "zero-init --json")."""
    m, cfg = zero.metrics, zero.config
    f = {
        "arithmetic": cfg.train.arithmetic,
        "activation": cfg.model.activation,
        "batchnorm": cfg.model.batchnorm,
        "output_bn": cfg.model.batchnorm and cfg.model.output_bn,
        "bn_eps": cfg.model.bn_eps,
        "act_at_zero": ACT_AT_ZERO[cfg.model.activation],
        "n_hidden": cfg.model.n_hidden,
        "n_layers": cfg.model.n_layers,
        "steps": cfg.train.steps,
        "vocab_size": ds.vocab_size,
        "compare": {
            "init": other.config.model.init,
            "gain": other.config.model.init_gain,
            "scale": other.config.model.init_scale if other.config.model.init == "normal" else None,
            "label": compare_label(other.config.model),
            "steps": other.config.train.steps,
        },
        "status": {"zero": zero.status, "compare": other.status},
        "diverged": {k: _divergence(o) for k, o in zip(RUNS, (zero, other))},
        "diverged_at": pair(zero, other, "diverged_at"),
        "val_loss": pair(zero, other, "val_loss"),
        "train_loss": pair(zero, other, "train_loss"),
        "baselines": base,
        "n_params": len(m["params"]),
        "output_params": _output_params(m["params"]),
        "regime": {
            k: regime(o.metrics.get("curve"), o.status, base["uniform"])
            for k, o in zip(RUNS, (zero, other))
        },
        "compare_first_loss": _first_loss(other),
    }
    f |= _start(m.get("diagnostics"))
    f |= _exact(zero, ds)
    if zero.status == "diverged":
        return f
    f |= _per_run(zero, other, ds)
    f["compare_trained"] = trained(
        other.metrics.get("curve"), other.metrics.get("train_loss"), base["uniform"]
    )
    f["compare_beats_unigram"] = other.status == "ok" and beats_unigram(
        other.metrics.get("val_loss"), base
    )
    f["compare_grad_ratio"] = _first_to_last(other.metrics["params"])
    f["symmetry_split_step"] = _split_step(m.get("diagnostics"))
    f["notebook_numbers"] = _notebook_numbers(zero, ds)
    return f


def _divergence(o: RunOutcome) -> dict | None:
    """What diverged and when: the step, and the loss against the bound (None: not
    finite)."""
    if o.status != "diverged":
        return None
    m = o.metrics
    return {
        "step": m.get("diverged_at"),
        "reason": m.get("diverged_reason", "not finite"),
        "loss": m.get("diverged_loss"),
        "bound": m.get("diverged_bound"),
    }


def _first_loss(o: RunOutcome) -> float | None:
    """The run's train loss at step 0, before any update (a sample of train rows)."""
    train = (o.metrics.get("curve") or {}).get("train") or [None]
    return train[0]


def _exact(zero: RunOutcome, ds: Dataset) -> dict:
    """The gradients in exact arithmetic (zero_init_exact) beside the run's floats."""
    sp = make_splits(ds, zero.config.data.block_size)
    ex = analyse(zero.config, sp.Xtr, sp.Ytr, ds.vocab_size)
    m, steps = zero.metrics, zero.config.train.steps
    kinds = gradient_facts(ex, m["params"], m.get("grad_norms_first") or {}, steps)
    by = {k: [n for n, g in kinds.items() if g["kind"] == k] for k in GRADIENT_KINDS}
    return {
        "gradients": kinds,
        "exact": by["exact"],
        "later": by["later"],
        "roundoff": by["round-off"],
        "no_gradient": by["none"],
        "undecided": by["undecided"],
        "too_small": [n for n in by["exact"] if kinds[n]["moved"] == 0],
        "beyond_float64": [n for n in by["exact"] if not kinds[n]["float64_holds"]],
        "roundoff_max": max((kinds[n]["run_max"] for n in by["round-off"]), default=0.0),
        "exact_context": ex.context_dependent,
        "exact_undefined": ex.undefined,
        "exact_steps": ex.steps,
    }


GRADIENT_KINDS = ("exact", "later", "round-off", "undecided", "undefined", "none")


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
    """The hidden activations at step 0 (the first diagnostics capture), decided exactly:
    a layer's units all equal over the batch when its smallest and largest output are the
    same number (NaN is equal to nothing), all zero when both are 0."""
    acts = (diag or {}).get("activations") or {}
    first = [(row["min"][0], row["max"][0]) for row in acts.values()]
    return {
        "hidden_zero_at_start": bool(first) and all(lo == hi == 0 for lo, hi in first),
        "hidden_identical_at_start": bool(first) and all(lo == hi for lo, hi in first),
        "hidden_mean_at_start": [row["mean"][0] for row in acts.values()],
    }


def _per_run(zero: RunOutcome, other: RunOutcome, ds: Dataset) -> dict:
    """Context dependence and effective width of both runs (None where a run did not
    finish). ``context_dependence``: the spread of the run's own float32 (or float64)
    predictions, whose exact 0 says "the same prediction everywhere, to the last bit";
    ``context_spread`` and ``context_gain``: the same net's weights evaluated in float64,
    the sizes a sentence gives (a float32 forward pass rounds a spread of 3e-5 nats by a
    few percent)."""
    keys = (
        "context_dependence",
        "context_spread",
        "context_gain",
        "context_resolution",
        "effective_width",
    )
    out = {k: {} for k in keys}
    for key, o in zip(RUNS, (zero, other)):
        if o.status != "ok":
            for v in out.values():
                v[key] = None
            continue
        logp, hidden = dev_forward(o, ds)
        out["context_dependence"][key] = context_dependence(logp)
        (
            out["context_spread"][key],
            out["context_gain"][key],
            out["context_resolution"][key],
        ) = wide_context(o, ds)
        out["effective_width"][key] = effective_width(hidden)
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


def _notebook_numbers(zero: RunOutcome, ds: Dataset) -> dict | None:
    """What the user's notebook printed, against this run on the splits the notebook used:
    the band of its minibatch losses, and the loss on the third split (the notebook's
    ``Xval = words[n2:]``) of the fresh net (ln V at zero init) and of the trained one."""
    band = zero.metrics.get("batch_loss_band")
    if band is None:
        return None
    return {
        "printed": {"batch_losses": list(NOTEBOOK_BATCH_LOSSES), "val_loss": NOTEBOOK_VAL_LOSS},
        "batch_band": band,
        "batch_size": zero.config.train.batch_size,
        "fresh_test": math.log(ds.vocab_size),
        "trained_test": split_loss(zero, ds, "Xte"),
    }
