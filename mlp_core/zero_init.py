"""Question 1: train with every weight and bias zero next to a comparison init, and explain
from measurements which parameters trained and why.

The experiment's shape (as bn_fold.py's): zero_init_configs -> the runs (stored or
trained) -> zero_init_report, a ZeroInitReport -> its text. Two runs: the zero-init run and
the comparison run (kaiming by default; same seed, minibatches and arithmetic). Which
gradients exist is decided in exact arithmetic (zero_init_exact.py, the zero-init net in
its symmetric subspace, on the run's own minibatches); the run's floats are measured beside
it. Every fact the answer uses is measured in zero_init_facts.py and regime.py;
zero_init_text.py writes only from them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .config import INITS, RunConfig
from .data import Dataset, baselines
from .diagnostics import until
from .train import RunOutcome
from .zero_init_draft import (
    DRAFT,
    DRAFT_SOURCE,
    assess_draft,
)
from .zero_init_measure import RUNS, measure, pair
from .zero_init_text import answer

COMPARE_INITS = tuple(i for i in INITS if i != "zeros")
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


COMPARE_DEFAULT = {"compare": "kaiming", "gain": None, "scale": 0.01}  # gain None: the
# activation's own (zero_init_configs' keywords; the page and the CLI start from these)


def zero_init_configs(
    cfg: RunConfig,
    compare: str = COMPARE_DEFAULT["compare"],
    gain: float | None = COMPARE_DEFAULT["gain"],
    scale: float = COMPARE_DEFAULT["scale"],
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


def zero_init_report(zero: RunOutcome, other: RunOutcome, ds: Dataset) -> ZeroInitReport:
    """The report, computed from the runs' measurements (zero_init_measure.measure)."""
    base = baselines(ds, zero.config.data.block_size)
    facts = measure(zero, other, ds, base)
    return ZeroInitReport(
        config=zero.config.to_dict(),
        compare=facts["compare"],
        status={"zero": zero.status, "compare": other.status},
        diverged_at=pair(zero, other, "diverged_at"),
        params=_with_kinds(zero.metrics["params"], facts.get("gradients", {})),
        params_compare=other.metrics["params"],
        train_loss=pair(zero, other, "train_loss"),
        val_loss=pair(zero, other, "val_loss"),
        curves=pair(zero, other, "curve"),
        baselines=base,
        facts=facts,
        answer=answer(facts),
        draft=DRAFT,
        draft_source=DRAFT_SOURCE,
        draft_assessment=assess_draft(facts),
        diagnostics={k: _diagnostics(o) for k, o in zip(RUNS, (zero, other))},
    )


def _diagnostics(o: RunOutcome) -> dict | None:
    """A run's diagnostics; a diverged run's only up to its divergence."""
    diag = o.metrics.get("diagnostics")
    step = o.metrics.get("diverged_at")
    return diag if o.status != "diverged" or step is None else until(diag, step)


def _with_kinds(params: list[dict], kinds: dict) -> list[dict]:
    """The parameter table with each tensor's gradient facts beside the run's numbers."""
    out = []
    for p in params:
        k = kinds.get(p["name"], {})
        out.append(
            p
            | {
                "gradient_kind": k.get("kind"),
                "exact_gradient": k.get("kind") == "exact",
                "onset": k.get("onset"),
                "exact_size": k.get("size"),
                "verdict": k.get("verdict"),
            }
        )
    return out
