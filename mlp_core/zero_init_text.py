"""The zero-init answer in plain English, written only from the measured facts.

The answer opens with a lead a learner reads in ten seconds: what trained, what the net
became, how good it is. The mechanism, the numbers and the float details follow. Every
sentence is written only when the fact it states holds (the facts come from
zero_init.measure; each sentence function names the facts it reads).
"""

from __future__ import annotations

from .regime import place
from .run_text import compare_sentence, curve_sentence, nats, plural, reason

ARITHMETIC = {
    "engine": "the engine's float32 arithmetic",
    "notebook": "your notebook's float32 arithmetic (x @ W + b with autograd)",
}


def names(xs: list[str]) -> str:
    return ", ".join(f"`{x}`" for x in xs) or "none"


def answer(f: dict) -> str:
    """The lead, then the details, each sentence from the facts."""
    if f["status"]["zero"] == "diverged":
        return lead(f)
    body = [
        s
        for s in (
            p(f)
            for p in (_why, _float_details, _symmetry, _context, curve_sentence, compare_sentence)
        )
        if s
    ]
    return lead(f) + "\n\n" + " ".join(body + [_where(f)])


def lead(f: dict) -> str:
    """One or two plain sentences: what trained, what the net became, how good it is."""
    if f["status"]["zero"] == "diverged":
        return _diverged(f)
    exact, n = f["exact"], f["n_params"]
    if len(exact) == n:
        s = "Every parameter tensor gets a gradient"
    elif not exact:
        s = "No parameter tensor gets a gradient within this run's steps"
    elif len(exact) == 1:
        s = (
            f"Only {names(exact)} gets a gradient: in exact arithmetic the other "
            f"{n - 1:,} parameter tensors keep their initial values"
        )
    else:
        s = f"{len(exact)} of {n} parameter tensors get a gradient"
        s += f": {names(exact)}" if len(exact) <= 4 else ""
    small = f["too_small"]
    if small:
        s += f", but for {names(small)} it is too small to change {_it(small)} in float32"
    return s + ". " + _became(f)


def _it(xs: list) -> str:
    return "it" if len(xs) == 1 else "them"


def _became(f: dict) -> str:
    """Facts: exact_context, context_dependence (zero run), val_loss, baselines. A net
    whose prediction ignores the context is a unigram model only where its loss is no
    worse than a uniform guess; otherwise it is said to be a poor one."""
    val, cd = f["val_loss"]["zero"], f["context_dependence"]["zero"]
    how = f"its dev loss is {place(val, f['baselines'])}"
    same = "it predicts the same next character distribution after every context"
    kind = "a unigram model" if val <= f["baselines"]["uniform"] else "a poor one"
    if f["exact_context"] and cd > 0:
        return f"The net uses the context; {how}."
    if f["exact_context"]:
        return (
            "In exact arithmetic the net's output depends on the context, but too weakly for "
            f"float32: in this run {same} ({kind}); {how}."
        )
    if cd == 0:
        return f"The net ignores the context: {same} ({kind}); {how}."
    return (
        "In exact arithmetic the net ignores the context; in this run only float rounding "
        f"makes its prediction vary, by {cd:.1e} nats; {how}."
    )


def _diverged(f: dict) -> str:
    """Facts: diverged (step, reason, loss, bound), exact_undefined."""
    d = f["diverged"]["zero"]
    s = f"The zero-init run diverged at step {d['step']:,}: " + reason(d) + "."
    if f["exact_undefined"]:
        s += (
            " With BatchNorm and eps = 0, a layer whose inputs are all equal has variance 0, "
            "and (x - mean)/sqrt(var + eps) is 0/0 = NaN."
        )
    return s + " A diverged run has no trained state to measure."


def _why(f: dict) -> str:
    """Facts: hidden_zero_at_start, hidden_mean_at_start, exact, gradients, batchnorm."""
    act, f0 = f["activation"], f["act_at_zero"]
    if f["hidden_zero_at_start"]:
        s = (
            "Why: with every weight and bias zero, each Linear outputs 0"
            + (", BatchNorm maps 0 to its beta = 0," if f["batchnorm"] else ",")
            + f" and {act}(0) = {f0:g}, so every hidden activation is exactly 0. A weight's "
            "gradient is its input times the gradient at its output, and the gradient reaching "
            "a lower layer passes through the zero weights above it: no weight, no lower bias "
            "and not the embedding C can get one."
        )
        out = [x for x in f["exact"] if x in f["output_params"]]
        if out and len(out) == len(f["exact"]) and all(x.endswith(("bias", "beta")) for x in out):
            s += (
                f" {names(out)} {'needs' if len(out) == 1 else 'need'} no input: "
                "the output gradient itself is its gradient."
            )
        return s
    if not f["hidden_identical_at_start"]:
        return ""
    means = ", ".join(f"{m:.3g}" for m in f["hidden_mean_at_start"])
    s = (
        f"Why: unlike tanh and ReLU, {act}(0) = {f0:g}, so the hidden units are not zero: at "
        f"step 0 every unit of a layer outputs the same value for every example (means "
        f"{means})."
    )
    onsets = _onsets(f)
    if onsets:
        steps = [o for _, o in onsets]
        s += (
            " The gradient reaches one more layer down at each step"
            if steps == list(range(len(steps)))
            else " The gradient reaches the layers in turn"
        )
        s += " (first gradient: " + ", ".join(f"`{n}` at step {o:,}" for n, o in onsets) + ")."
    if f["batchnorm"] and len(f["exact"]) + len(f["later"]) < f["n_params"]:
        s += (
            " BatchNorm stops the rest: a Linear whose input is the same for every example "
            "gets the weight gradient sum_b x (g_b - mean g) = 0 exactly, because "
            "BatchNorm's backward subtracts the batch mean of the gradient it passes down."
        )
    return s


def _onsets(f: dict) -> list[tuple[str, int]]:
    """(name, exact onset) of each weight with a gradient within or after the run."""
    grads = f["gradients"]
    found = [
        (n, g["onset"])
        for n, g in grads.items()
        if g["kind"] in ("exact", "later") and n.endswith("weight")
    ]
    if "C" in grads and grads["C"]["kind"] in ("exact", "later"):
        found.insert(0, ("C", grads["C"]["onset"]))
    return found[::-1]


def _float_details(f: dict) -> str:
    """Facts: later, too_small, beyond_float64, roundoff, roundoff_max, gradients sizes."""
    g, parts = f["gradients"], []
    if f["later"]:
        first = min(g[n]["onset"] for n in f["later"])
        parts.append(
            f"The run stopped after {plural(f['steps'], 'step')}: with more steps "
            f"{names(f['later'])} would get a gradient too (the first from step {first:,})."
        )
    if f["too_small"]:
        sizes = ", ".join(f"`{n}` {g[n]['size']}" for n in f["too_small"])
        parts.append(
            "These exact gradients are too small to move a float32 number, so in this run "
            f"their tensors did not change: {sizes} (size at their first step)."
        )
    if f.get("undecided"):
        parts.append(
            f"Whether {names(f['undecided'])} get a gradient could not be told here: what "
            "they would get is too small, or cancels too closely, for 64-bit arithmetic to "
            "tell from zero."
        )
    beyond = [n for n in f["beyond_float64"] if n not in f["too_small"]]
    if beyond:
        parts.append(f"{names(beyond)} get gradients below 1e-308, the smallest float64.")
    if f["roundoff"]:
        parts.append(
            f"{plural(len(f['roundoff']), 'more tensor')} got nonzero gradients in this run "
            f"only through float rounding (up to {f['roundoff_max']:.1e}): in exact arithmetic "
            "their gradient is exactly 0."
            + (
                " BatchNorm rescales any variation between examples to unit size, so this "
                "rounding can grow large."
                if f["batchnorm"]
                else ""
            )
        )
    return " ".join(parts)


def _symmetry(f: dict) -> str:
    """Facts: hidden_identical_at_start, effective_width (zero run), split step."""
    width = f["effective_width"]["zero"]
    if not f["hidden_identical_at_start"] or not width or f["hidden_zero_at_start"]:
        return ""
    distinct = [w["distinct_neurons"] for w in width]
    s = (
        "In exact arithmetic the units of a layer stay identical for ever: each gets the same "
        "gradient. "
    )
    if all(d == 1 for d in distinct):
        return s + (
            f"Measured after training, each hidden layer has 1 distinct neuron of "
            f"{width[0]['width']}: one neuron per layer, in effect."
        )
    split = f["symmetry_split_step"]
    return s + (
        f"In this run rounding split them: distinct neurons per hidden layer {distinct}"
        + (f" (their spread first exceeded 1e-3 at step {split:,})" if split else "")
        + "."
    )


def _context(f: dict) -> str:
    """Facts: exact_context, context_dependence, context_spread, context_gain (zero
    run)."""
    cd, gain = f["context_dependence"]["zero"], f["context_gain"]["zero"]
    if f["exact_context"]:
        spread, res = f["context_spread"]["zero"], f["context_resolution"]["zero"]
        if spread <= res:
            floats = (
                "in this run's floats it predicts the same distribution after every context"
                if cd == 0
                else f"in this run's floats rounding makes it vary by {cd:.1e} nats"
            )
            return (
                "In exact arithmetic its output depends on the context, too little for "
                "float64 to measure on these weights: the spread it computes across dev "
                f"contexts, {spread:.1e} nats, is within its own rounding (up to {res:.1e}); "
                f"{floats}."
            )
        if abs(gain) <= res:
            return (
                f"Across dev contexts its log-probabilities spread by {spread:.2e} nats; what "
                f"the context is worth on dev is within float64's rounding (up to {res:.1e})."
            )
        worth = (
            f"the context is worth {nats(gain)} nats on dev against the net's own average "
            "prediction"
            if gain >= 0
            else f"using it costs {nats(-gain)} nats on dev against the net's own average "
            "prediction"
        )
        return f"Across dev contexts its log-probabilities spread by {spread:.2e} nats; {worth}."
    if cd == 0:
        return "Its prediction is the same for every dev context, to the last bit."
    return (
        f"In this run its prediction varies across dev contexts by {cd:.1e} nats: float "
        "rounding, since in exact arithmetic it does not vary at all."
    )


def _where(f: dict) -> str:
    return (
        f"Measured in {ARITHMETIC[f['arithmetic']]}; the gradients' existence and size in "
        "exact arithmetic."
    )
