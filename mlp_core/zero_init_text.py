"""The zero-init answer in plain English, and the user's draft judged claim by claim.

Every sentence is written only when the measured fact it states holds (the facts come from
zero_init.measure; each sentence function names the facts it reads). Nothing is canned:
a configuration where a fact does not hold gets no sentence about it.
"""

from __future__ import annotations

ARITHMETIC = {
    "engine": "the engine's arithmetic (float32; each bias rides inside its matmul)",
    "notebook": "your notebook's arithmetic (float32 autograd, x @ W + b with the bias added "
    "on its own)",
}


def _names(xs: list[str]) -> str:
    return ", ".join(f"`{x}`" for x in xs) or "none"


def answer(f: dict) -> str:
    """The plain-English answer, sentence by sentence from the facts."""
    if f["status"]["zero"] == "diverged":
        return _diverged(f)
    parts = (_what_trained, _why, _symmetry, _what_it_became, _settled, _comparison, _where)
    return " ".join(s for s in (p(f) for p in parts) if s)


def _diverged(f: dict) -> str:
    s = f"The zero-init run diverged at step {f['diverged_at']['zero']}: its loss was not finite."
    if f["batchnorm"] and f["bn_eps"] == 0 and f["diverged_at"]["zero"] == 0:
        s += (
            " With BatchNorm and eps = 0, a layer whose inputs are all equal has variance 0, "
            "and (x - mean)/sqrt(var + eps) is 0/0 = NaN."
        )
    return s + " Nothing else can be measured from it."


def _what_trained(f: dict) -> str:
    """Facts: gradients (kinds from the float64 check), n_params, roundoff sizes."""
    exact, n = f["exact"], f["n_params"]
    s = (
        f"All {n} parameter tensors receive a gradient."
        if len(exact) == n
        else f"Only {len(exact)} of {n} parameter tensors "
        f"{'receives' if len(exact) == 1 else 'receive'} a gradient: {_names(exact)}."
    )
    if f["vanishing"]:
        s += (
            f" Of these, {_names(f['vanishing'])} get gradients below "
            f"{f['effective_rel']:g} of the largest (down to {f['weakest_exact']:.0e} of it): "
            "they vanish on the way down."
        )
    if f["roundoff"]:
        s += (
            f" {len(f['roundoff'])} more got only float round-off, up to "
            f"{f['roundoff_max']:.1e} in this run; rerun in float64 those gradients shrink by "
            "orders of magnitude or change with the implementation, so they are rounding, not "
            "gradients of the maths."
        )
    if f["roundoff_grown"]:
        s += (
            f" Here the rounding did not stay small: {_names(f['roundoff_grown'])} reached "
            f"gradients of {f['roundoff_max']:.1e}"
            + (
                " — BatchNorm rescales any variation between examples, however tiny, to unit "
                "size, so round-off seeds a real signal and the whole net starts to train."
                if f["batchnorm"]
                else ", amplified by training."
            )
        )
    return s


def _why(f: dict) -> str:
    """Facts: hidden_zero_at_start, hidden_identical_at_start, hidden means, exact, batchnorm."""
    act, f0 = f["activation"], f["act_at_zero"]
    if f["hidden_zero_at_start"]:
        s = (
            "With every weight and bias zero, each Linear outputs 0"
            + (", BatchNorm maps 0 to its β = 0," if f["batchnorm"] else ",")
            + f" and {act}(0) = {f0:g}: every hidden activation measured exactly 0 at step 0. "
            "A weight's gradient is its input times the gradient at its output, and the "
            "gradient reaching a lower layer passes through the zero weights above it, so "
            "no weight, no lower bias and not the embedding C can get one."
        )
        if len(f["exact"]) == 1 and f["exact"][0] in f["output_params"]:
            s += (
                f" Only `{f['exact'][0]}` needs no input: its gradient is the output gradient "
                "itself. Moving it never makes a hidden activation nonzero, so it stays the "
                "only one."
            )
        return s
    if not f["hidden_identical_at_start"]:
        return ""
    means = ", ".join(f"{m:.3g}" for m in f["hidden_mean_at_start"])
    s = (
        f"Unlike tanh and ReLU, {act}(0) = {f0:g}: the hidden units are not zero — at step 0 "
        f"every unit of a layer output the same value for every example (measured means: "
        f"{means})."
    )
    onsets = _weight_onsets(f)
    if not f["batchnorm"] and onsets and onsets[0][1] == 0:
        s += " So the output weights get a gradient at once"
        if [o for _, o in onsets] == list(range(len(onsets))):
            s += ", and from there the gradient reaches one layer further down at each step"
        s += " (measured onsets: " + ", ".join(f"`{n}` at step {o}" for n, o in onsets) + ")."
    if f["batchnorm"] and len(f["exact"]) == 1 and f["exact"][0] in f["output_params"]:
        s += (
            " BatchNorm stops that: every Linear above the first sees the same input for every "
            "example, and BatchNorm's backward subtracts the batch mean of the gradient it "
            "passes down, so each of those weight gradients is exactly 0; the first Linear "
            "sees the embeddings, which differ, but the gradient at its output comes through "
            f"zero weights. Only `{f['exact'][0]}` gets a gradient in exact arithmetic."
        )
    return s


def _weight_onsets(f: dict) -> list[tuple[str, int]]:
    """(name, first step with an exact gradient) of each weight, output layer first."""
    found = [
        (n, g["onset"])
        for n, g in f.get("gradients", {}).items()
        if g["kind"] == "exact" and n.endswith("weight")
    ]
    return found[::-1]


def _symmetry(f: dict) -> str:
    """Facts: hidden_identical_at_start, effective_width (zero run), split step, arithmetic."""
    width = f["effective_width"]["zero"]
    if not f["hidden_identical_at_start"] or not width or f["hidden_zero_at_start"]:
        return ""
    distinct = [w["distinct_neurons"] for w in width]
    if all(d == 1 for d in distinct):
        return (
            "Every neuron of a layer gets the same gradient, so the neurons stay identical: "
            f"over the dev contexts each hidden layer has 1 distinct neuron of {width[0]['width']}"
            " after training — one neuron per layer, in effect."
        )
    split = f["symmetry_split_step"]
    return (
        "The neurons start identical and get identical gradients, but here they did not stay "
        f"so: distinct neurons per hidden layer over the dev contexts {distinct}"
        + (f" (the spread between neurons first exceeded 1e-3 at step {split:,})" if split else "")
        + ". In exact arithmetic they could not split: rounding differences between neurons "
        "were amplified by training."
    )


def _what_it_became(f: dict) -> str:
    """Facts: context_dependence, context_gain, val_loss, dev baselines."""
    b, val = f["baselines"], f["val_loss"]["zero"]
    cd, gain = f["context_dependence"]["zero"], f["context_gain"]["zero"]
    base = (
        f"(unigram {b['dev_unigram']:.4f}, bigram {b['dev_bigram']:.4f}: both fitted on train "
        "and scored on dev)"
    )
    if cd == 0:
        s = (
            "Its output does not depend on the context at all: the predicted distribution is "
            "identical for every dev context, which makes it a unigram model. "
            f"Its dev loss is {val:.4f} {base}"
        )
        return s + f", {val - b['dev_unigram']:+.4f} from the unigram model."
    if cd < f["context_tol"]:
        return (
            "Its output depends on the context only at round-off level (spread of the "
            f"log-probabilities across dev contexts {cd:.1e} nats): a unigram model in effect. "
            f"Its dev loss is {val:.4f} {base}."
        )
    rel = "below" if val < b["dev_unigram"] else "above"
    return (
        f"Its output does depend on the context (spread of the log-probabilities across dev "
        f"contexts {cd:.3f} nats; the context is worth {gain:.3f} nats on dev), so it is more "
        f"than a unigram model: dev loss {val:.4f}, {abs(val - b['dev_unigram']):.4f} {rel} the "
        f"unigram model {base}."
    )


def _settled(f: dict) -> str:
    """Facts: settled, loss_change (a line fit over the last half of the dev curve), and
    for a model that ignores the context, how far above the unigram level it still is."""
    s, change = f["settled"]["zero"], f["loss_change"]["zero"]
    if s is None:
        return ""
    if s:
        return f"It has settled: over the last half of training its dev loss moved {change:+.4f}."
    if change > -10 * f["settled_drop"]:
        gap = f["val_loss"]["zero"] - f["baselines"]["dev_unigram"]
        toward = (
            f", toward the unigram level, {gap:.4f} above it"
            if f["context_dependence"]["zero"] == 0 and gap > 0
            else ""
        )
        return (
            f"It is still falling, slowly ({change:+.4f} over the last half of training){toward}."
        )
    return (
        f"It is still falling ({change:+.4f} over the last half of training): more steps would "
        "lower it further."
    )


def _comparison(f: dict) -> str:
    """Facts: the comparison run's val loss, context, whether it beat the unigram model, its
    per-layer gradient ratio."""
    label, c = f["compare"]["label"], f["val_loss"]["compare"]
    if f["status"]["compare"] != "ok":
        return f"The {label} run {f['status']['compare']}: no comparison."
    if f["compare_trained"]:
        return f"The {label} run, same seed and minibatches, reaches dev {c:.4f}" + (
            " — below the bigram level." if c < f["baselines"]["dev_bigram"] else "."
        )
    s = (
        f"The {label} run did not train either: dev {c:.4f}, no better than the unigram model, "
        "so here it says nothing about zero init."
    )
    ratio = f["compare_grad_ratio"]
    if ratio is not None and ratio < f["effective_rel"]:
        s += (
            f" Its gradients vanish with depth: the first layer's weight gradient was {ratio:.0e}"
            " of the output layer's. Try BatchNorm, or fewer layers."
        )
    return s


def _where(f: dict) -> str:
    return f"Measured in {ARITHMETIC[f['arithmetic']]}."
