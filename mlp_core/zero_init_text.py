"""The zero-init answer in plain English, and the user's draft judged claim by claim.

Every sentence is picked by a measured fact from ``zero_init.measure``: nothing is canned.
"""

from __future__ import annotations

from .data import BASELINE_MEANINGS

EFFECTIVE_REL = 1e-3  # a gradient below this fraction of the run's largest is vanishing/noise
DRAFT = (
    "If we initialize the weights and biases to zero, if our non-linear function is a sigmoid "
    "or tanh, the gradient will be zero for all the weights and biases. This will cause the "
    "network to not learn anything because all the neurons emit the SAME thing. We can assume "
    "that only the output layer is the one for which the gradient is non-zero and hence that "
    "is the only thing that helps in training."
)


def answer(f: dict) -> str:
    """The plain-English answer, sentence by sentence from the facts."""
    if f["status"] == "diverged":
        return (
            f"The zero-init run diverged at step {f['diverged_at']}: its loss was not a "
            "finite number. With BatchNorm and eps = 0, a layer whose inputs are all equal has "
            "variance 0, and (x - mean)/sqrt(var + eps) is 0/0 = NaN."
            if f["batchnorm"]
            else f"The zero-init run diverged at step {f['diverged_at']} (loss not finite): "
            "lower the learning rate."
        )
    return " ".join(s for s in (_what_trained(f), _why(f), _what_it_became(f)) if s)


def _what_trained(f: dict) -> str:
    n, t, eff = f["n_params"], f["trained"], f["effective"]
    if len(t) == n:
        s = f"All {n} parameter tensors received nonzero gradients."
    else:
        names = ", ".join(f"`{x}`" for x in t) or "none"
        s = f"Only {len(t)} of {n} parameter tensors received a nonzero gradient: {names}."
    if len(eff) < len(t):
        weakest = min(f["grad_rel"][x] for x in t if f["grad_rel"][x] > 0)
        s += (
            f" But only {len(eff)} of them got gradients within a factor "
            f"{1 / EFFECTIVE_REL:,.0f} of the largest ({', '.join(f'`{x}`' for x in eff)}); "
            f"the others' were vanishing or round-off, down to {weakest:.0e} of it."
        )
    return s


def _why(f: dict) -> str:
    act, f0 = f["activation"], f["act_at_zero"]
    if f["hidden_zero_at_start"]:
        s = (
            "With every weight and bias zero, each Linear outputs 0"
            + (", BatchNorm turns 0 into (0-0)/sqrt(0+eps)·γ+β = 0," if f["batchnorm"] else ",")
            + f" and {act}(0) = {f0:g}, so every hidden activation measured exactly 0 at step 0. "
            "A weight's gradient is (its input)ᵀ·(the gradient at its output): every weight "
            "after the first sees an input of 0, and the first one gets no gradient at its "
            "output because that gradient flows back through the zero weights above it. The same "
            "zero weights block the gradient to every earlier bias and to the embedding C. "
        )
        if f["trained"] == [f["output_params"][-1]] or len(f["trained"]) == 1:
            s += (
                f"Only `{f['trained'][0]}`, whose gradient is the output gradient itself and "
                "needs no input, can move — and it stays the only one, because nothing it "
                "does makes a hidden activation nonzero."
            )
        return s
    if f["hidden_identical_at_start"]:
        distinct = f["hidden_distinct"]
        s = (
            f"Unlike tanh and ReLU, {act}(0) = {f0:g}: the hidden units are not zero — every unit "
            f"of a layer outputs the same value (measured mean at step 0: "
            f"{', '.join(f'{m:.3g}' for m in f['hidden_mean_at_start'])}). So the output weights "
            "get a gradient at once, and from there gradients flow down to the layers below. "
        )
        if f["batchnorm"] and f["hidden_constant_at_end"]:
            s += (
                "With BatchNorm, though, every Linear sees the same input for every example; BN "
                "subtracts the batch mean and outputs exactly β, so each hidden layer emits "
                f"{act}(β) whatever the context (still constant at the last step measured): the "
                "context never reaches the output. "
            )
        if f["batchnorm"] and f["hidden_constant_at_end"]:
            return s  # neuron counts would only measure round-off that never reaches the output
        if distinct and max(distinct) == 1:
            s += (
                f"But all neurons of a layer receive identical gradients, so they stay identical: "
                f"each hidden weight matrix still has 1 distinct neuron out of {f['n_hidden']} "
                f"(rank {max(r or 0 for r in f['hidden_rank'])}) after training — one neuron per "
                "layer, in effect."
            )
        else:
            s += (
                f"The neurons start identical; here the symmetry broke (distinct neurons per "
                f"hidden matrix: {distinct}) — float round-off differences, amplified by training."
            )
        return s
    return ""


def _what_it_became(f: dict) -> str:
    b, val = f["baselines"], f["val_loss"]
    near = f["nearest_baseline"]
    if val is None or near is None:
        return ""
    label = BASELINE_MEANINGS[near]
    s = (
        f"Its dev loss settles at {val:.4f} nats, nearest to {label} "
        f"(uniform {b['uniform']:.4f}, unigram {b['unigram_entropy']:.4f}, bigram "
        f"{b['bigram']:.4f})."
    )
    if len(f["effective"]) == 1 and f["effective"][0].endswith(("bias", "beta")):
        s += (
            f" With only `{f['effective'][0]}` effectively training, the logits are the same "
            "for every context: the network has become a unigram model, and the unigram entropy "
            f"of the training targets is the best it can reach (gap here "
            f"{f['gap_to_unigram']:+.4f})."
        )
    return s


def assess_draft(f: dict) -> list[dict]:
    """The user's draft, claim by claim, judged by this run."""
    if f["status"] == "diverged":
        return []
    act, trained, n = f["activation"], f["trained"], f["n_params"]
    claims = []

    def claim(text: str, verdict: str, evidence: str) -> None:
        claims.append({"claim": text, "verdict": verdict, "evidence": evidence})

    if act in ("tanh", "sigmoid"):
        claim(
            f"With {act}, the gradient is zero for all the weights and biases.",
            "contradicted" if trained else "supported",
            f"{len(trained)} of {n} tensors received a nonzero gradient: "
            + (", ".join(trained) if trained else "none")
            + ".",
        )
    else:
        claim(
            "With sigmoid or tanh, the gradient is zero for all the weights and biases.",
            "not tested",
            f"this run uses {act}; pick tanh or sigmoid to test it.",
        )
    learned = f["val_loss"] < f["baselines"]["uniform"] - 0.05
    claim(
        "The network does not learn anything.",
        "contradicted" if learned else "supported",
        f"dev loss {f['val_loss']:.4f} vs {f['baselines']['uniform']:.4f} for a uniform guess: "
        + ("it learned the character frequencies." if learned else "no better than guessing."),
    )
    same = f["hidden_identical_at_start"] and max(f["hidden_distinct"] or [1]) == 1
    claim(
        "All the neurons emit the same thing.",
        "supported" if same else "contradicted",
        f"distinct neurons per hidden weight matrix after training: {f['hidden_distinct']}; "
        f"hidden activations at step 0: mean {[round(m, 4) for m in f['hidden_mean_at_start']]}.",
    )
    only_out = set(trained) <= set(f["output_params"]) and bool(trained)
    claim(
        "Only the output layer gets a nonzero gradient; it alone trains.",
        ("partly supported" if set(trained) != set(f["output_params"]) else "supported")
        if only_out
        else "contradicted",
        f"trained: {', '.join(trained) or 'none'}; output layer: {', '.join(f['output_params'])}.",
    )
    if act == "sigmoid":
        claim(
            "Sigmoid behaves like tanh here (hidden units zero).",
            "contradicted" if f["act_at_zero"] != 0 else "supported",
            f"sigmoid(0) = 0.5: hidden means at step 0 were "
            f"{[round(m, 4) for m in f['hidden_mean_at_start']]}, not 0.",
        )
    return claims
