"""What a loss curve is doing, and where a loss stands on the data's own ladder.

One classifier of a curve's regime serves every sentence and every metric that says
"settled" or "still falling". It reads the dev points of the last half of the run and fits
a line; the noise band is measured from that fit's own scatter (the standard error of its
slope), so a slow straight fall counts as falling however slow, and a wandering curve is
not called settled unless the band itself is small. Every scale is the data's own: a
change is small against ln V, the loss of a uniform guess over its V characters.

The ladder of a data set: the uniform guess (ln V), the unigram model (character
frequencies) and the bigram model (the previous character), each fitted on train and
scored on dev. "Better than" on the ladder is an exact comparison of two losses on the
same dev rows.
"""

from __future__ import annotations

import math

REGIMES = ("falling", "settled", "rising", "blowing up", "diverged", "too short to tell")
MIN_POINTS = 5  # dev points in the last half needed to tell a trend from noise
SIGNIFICANT = 3.0  # a trend counts when it exceeds this many standard errors
FLAT = 0.002  # settled: the change over the last half, band included, within 0.2% of ln V


def regime(curve: dict | None, status: str, uniform: float) -> dict:
    """The curve's regime (one of REGIMES) with the numbers it was decided from: the dev
    loss change over the last half (a line fit), its noise band (SIGNIFICANT standard
    errors), the tolerance (FLAT * ln V), the last and the best dev loss."""
    out = {"state": None, "change": None, "band": None, "tolerance": FLAT * uniform}
    if status == "diverged":
        return out | {"state": "diverged"}
    pts = _points(curve)
    if not pts:
        return out | {"state": "too short to tell", "points": 0}
    last, best = pts[-1][1], min(v for _, v in pts)
    out |= {"last": last, "best": best}
    if last > uniform and last - best > uniform:
        return out | {"state": "blowing up"}
    half = [(s, v) for s, v in pts if s > 0 and s >= pts[-1][0] / 2]
    out["points"] = len(half)
    if len(half) < MIN_POINTS:
        return out | {"state": "too short to tell"}
    change, band = _line(half)
    out |= {"change": change, "band": band}
    if change - band > 0:
        return out | {"state": "blowing up" if last > uniform else "rising"}
    if change + band < 0:
        return out | {"state": "falling"}
    if abs(change) + band <= out["tolerance"]:
        return out | {"state": "settled"}
    return out | {"state": "too short to tell"}


def _points(curve: dict | None) -> list[tuple[int, float]]:
    if not curve:
        return []
    return [
        (s, v)
        for s, v in zip(curve.get("step", []), curve.get("val", []))
        if v is not None and math.isfinite(v)
    ]


def _line(pts: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares line through the points: the change over their span and its band
    (SIGNIFICANT standard errors of the slope, times the span)."""
    n = len(pts)
    sm = sum(s for s, _ in pts) / n
    vm = sum(v for _, v in pts) / n
    sxx = sum((s - sm) ** 2 for s, _ in pts)
    slope = sum((s - sm) * (v - vm) for s, v in pts) / sxx
    resid = sum((v - vm - slope * (s - sm)) ** 2 for s, v in pts)
    se = math.sqrt(resid / (n - 2) / sxx)
    span = pts[-1][0] - pts[0][0]
    return slope * span, SIGNIFICANT * se * span


def ladder(base: dict) -> list[tuple[str, float]]:
    """The data's rungs, worst first: uniform guess, unigram model, bigram model (dev)."""
    rungs = [
        ("the uniform guess", base["uniform"]),
        ("the unigram model", base["dev_unigram"]),
        ("the bigram model", base["dev_bigram"]),
    ]
    return sorted(rungs, key=lambda r: -r[1])


def place(loss: float | None, base: dict) -> str:
    """A dev loss and where it stands on the ladder, in words (exact comparisons), e.g.
    "2.8119, between the uniform guess (3.2958) and the unigram model (2.8018)". Numbers
    get the decimals that tell them apart from the rungs they are compared with."""
    if loss is None or not math.isfinite(loss):
        return "not finite"
    rungs = ladder(base)
    if loss > rungs[0][1]:
        near = [rungs[0]]
        where = "worse than {0}"
    else:
        i = next((i for i, (_, v) in enumerate(rungs[1:]) if loss > v), None)
        near = rungs[i : i + 2] if i is not None else [rungs[-1]]
        where = "between {0} and {1}" if i is not None else "better than {0}"
    d = _decimals(loss, [v for _, v in near])
    shown = [f"{name} ({v:.{d}f})" for name, v in near]
    return f"{loss:.{d}f}, " + where.format(*shown)


def _decimals(x: float, others: list[float]) -> int:
    """Four decimals, or as many more (up to 12) as it takes to tell x from the others."""
    for d in range(4, 13):
        if all(f"{x:.{d}f}" != f"{o:.{d}f}" for o in others):
            return d
    return 12


def beats_unigram(loss: float | None, base: dict) -> bool:
    """Strictly below the unigram model's dev loss (the same dev rows)."""
    return loss is not None and math.isfinite(loss) and loss < base["dev_unigram"]


def trained(curve: dict | None, train_loss: float | None, uniform: float) -> bool | None:
    """Did the training loss fall? The full train split's final loss against the step-0
    loss of the curve (a train sample), with FLAT * ln V to spare for the sample; None
    where there is no finite loss."""
    pts = [v for v in (curve or {}).get("train", []) if v is not None and math.isfinite(v)]
    if not pts or train_loss is None or not math.isfinite(train_loss):
        return None
    return train_loss < pts[0] - FLAT * uniform
