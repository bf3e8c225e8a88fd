"""Sentences about one run's numbers, shared by the answers: why a run diverged, what its
dev curve did (regime.regime), how a comparison run fared on the data's ladder. Each
function names the facts it reads; none writes a sentence whose fact does not hold.
"""

from __future__ import annotations

from .regime import place


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def share(f: float) -> str:
    """A fraction as a percentage with the decimals it takes never to read 0% or 100% for
    a fraction that is neither."""
    for d in range(0, 7):
        text = f"{100 * f:.{d}f}"
        if (f == 0 or float(text) != 0) and (f == 1 or float(text) != 100):
            return f"{text}%"
    return f"{100 * f:.7f}%"


def nats(x: float) -> str:
    return f"{x:.4f}" if abs(x) >= 1e-3 or x == 0 else f"{x:.1e}"


def reason(d: dict) -> str:
    if d["reason"] == "above bound" and d.get("loss") is not None:
        return (
            f"its minibatch loss {d['loss']:,.4g} went above {d['bound']:.4g}, ten times the "
            "loss of a uniform guess"
        )
    return "its loss was not finite"


CURVE = {
    "falling": "Its dev loss was still falling over the last half of training ({change:+.4f}).",
    "settled": "Its dev loss has settled at {last:.4f}: {change:+.4f} over the last half of "
    "training, within ±{band:.4f} of noise.",
    "rising": "Its dev loss rose over the last half of training ({change:+.4f}, beyond the "
    "±{band:.4f} of noise).",
    "blowing up": "Its dev loss is blowing up: from its best, {best:.4f}, to {last:,.4f}.",
    "too short to tell": "Whether its dev loss has settled cannot be told from this run: {why}.",
}


def curve_sentence(f: dict) -> str:
    """Facts: regime of the zero run (regime.regime)."""
    r = f["regime"]["zero"]
    if r["state"] not in CURVE:
        return ""
    extra = {"band": r.get("band") or 0.0, "why": _why_unclear(r)}
    return CURVE[r["state"]].format(**(r | extra))


def compare_sentence(f: dict) -> str:
    """Facts: the comparison run's status, divergence, regime, compare_trained,
    compare_beats_unigram, its val loss, its first-to-last gradient ratio."""
    label, c = f["compare"]["label"], f["val_loss"]["compare"]
    d = f["diverged"]["compare"]
    if d:
        s = f"The {label} run diverged at step {d['step']:,}: {reason(d)}."
        if d["step"] == 0:
            s += " That was its first loss, before any update: the init itself is at fault."
        return s + " No comparison."
    if f["status"]["compare"] != "ok":
        return f"The {label} run {f['status']['compare']}: no comparison."
    if f["regime"]["compare"]["state"] == "too short to tell" and not f["compare_trained"]:
        return (
            f"The {label} run (dev {c:.4f}) is too short to tell whether it trains: "
            f"{plural(f['compare']['steps'], 'step')}."
        )
    where = place(c, f["baselines"])
    if f["compare_trained"] and f["compare_beats_unigram"]:
        return f"The {label} run, same seed and minibatches, reaches dev {where}."
    if f["compare_trained"]:
        tr = f["train_loss"]["compare"]
        s = f"The {label} run's train loss fell (to {tr:.4f}), but its dev loss is {where}."
        if tr < f["baselines"]["dev_unigram"]:
            s += " It fits its training rows far better than it predicts dev."
        return s
    s = f"The {label} run's train loss did not fall: dev {where}."
    ratio = f["compare_grad_ratio"]
    if ratio is not None and ratio < 1e-3:
        s += (
            f" Its gradients vanish with depth: the first layer's weight gradient was "
            f"{ratio:.0e} of the output layer's."
        )
    return s


def _why_unclear(r: dict) -> str:
    if r.get("change") is None:
        return f"{plural(r.get('points', 0), 'dev point')} in its last half, too few for a trend"
    return (
        f"over the last half of training it moved {r['change']:+.4f}, within its noise "
        f"(±{r['band']:.4f}) but not within {r['tolerance']:.4f} of flat"
    )
