"""The user's draft answer (answer A1 of their makemore part 3 notebook) and the numbers
their notebook printed, judged claim by claim by the measured facts (zero_init.measure):
the verdicts read the same facts as the answer (zero_init_text.py), so they agree."""

from __future__ import annotations

DRAFT = (
    "If we initialize the weights and biases to zero, if our non-linear function is a sigmoid "
    "or tanh, the gradient will be zero for all the weights and biases. This will cause the "
    "network to not learn anything because all the neurons emit the SAME thing. We can assume "
    "that only the output layer is the one for which the gradient is non-zero and hence that "
    "is the only thing that helps in training."
)
DRAFT_SOURCE = "answer A1 of your makemore part 3 notebook"
NOTEBOOK_BATCH_LOSSES = (2.5, 3.1)  # the notebook's printed minibatch losses (one decimal)
NOTEBOOK_VAL_LOSS = 3.2870  # the notebook's printed final validation loss


def assess_draft(f: dict) -> list[dict]:
    """The user's draft (and the notebook's printed numbers), claim by claim, judged by the
    measured facts; every verdict reads the same facts as the answer, so they agree."""
    if f["status"]["zero"] == "diverged":
        return []
    claims: list[dict] = []

    def claim(text: str, verdict: str, evidence: str) -> None:
        claims.append({"claim": text, "verdict": verdict, "evidence": evidence})

    act, exact = f["activation"], f["exact"]
    roundoff = f" ({len(f['roundoff'])} more got only round-off)" if f["roundoff"] else ""
    if act in ("tanh", "sigmoid"):
        claim(
            f"With {act}, the gradient is zero for all the weights and biases.",
            "contradicted" if exact else "supported",
            f"{len(exact)} of {f['n_params']} tensors get a gradient: {', '.join(exact) or 'none'}"
            f"{roundoff}.",
        )
    else:
        claim(
            "With sigmoid or tanh, the gradient is zero for all the weights and biases.",
            "not tested",
            f"this run uses {act}; pick tanh or sigmoid to test it.",
        )
    b, val = f["baselines"], f["val_loss"]["zero"]
    learned = val < b["uniform"] - 0.05
    what = (
        "to use the context"
        if f["context_dependence"]["zero"] >= f["context_tol"]
        else "the character frequencies only (its output ignores the context)"
    )
    claim(
        "The network does not learn anything.",
        "contradicted" if learned else "supported",
        f"dev loss {val:.4f} vs {b['uniform']:.4f} for a uniform guess: "
        + (f"it learned {what}." if learned else "no better than guessing."),
    )
    claims.append(_same_neurons(f))
    out = set(f["output_params"])
    only_out = bool(exact) and set(exact) <= out
    claim(
        "Only the output layer gets a nonzero gradient; it alone trains.",
        ("supported" if set(exact) == out else "partly supported") if only_out else "contradicted",
        f"gradients: {', '.join(exact) or 'none'}{roundoff}; "
        f"output layer: {', '.join(sorted(out))}.",
    )
    if act == "sigmoid":
        claim(
            "Sigmoid behaves like tanh here (hidden units zero).",
            "contradicted" if not f["hidden_zero_at_start"] else "supported",
            f"hidden means at step 0: {[round(m, 4) for m in f['hidden_mean_at_start']]}.",
        )
    claims += _notebook_claims(f["notebook_numbers"])
    return claims


def _same_neurons(f: dict) -> dict:
    width = f["effective_width"]["zero"]
    distinct = [w["distinct_neurons"] for w in width]
    start = f["hidden_identical_at_start"]
    if not start:
        verdict = "contradicted"
    elif all(d == 1 for d in distinct):
        verdict = "supported"
    else:
        verdict = "partly supported"
    return {
        "claim": "All the neurons emit the same thing.",
        "verdict": verdict,
        "evidence": f"at step 0 the units of each layer were {'' if start else 'not '}identical"
        f"; distinct neurons per hidden layer over the dev contexts after training: {distinct}.",
    }


def _notebook_claims(nb: dict | None) -> list[dict]:
    if not nb:
        return []
    lo, hi = nb["batch_band"]
    ulo, uhi = NOTEBOOK_BATCH_LOSSES
    inside = lo - 0.05 <= ulo and uhi <= hi + 0.05
    out = [
        {
            "claim": f"The notebook's minibatch losses were {ulo}–{uhi} while training.",
            "verdict": "supported" if inside else "contradicted",
            "evidence": f"batch-{nb['batch_size']} losses of this zero-init run over the last half "
            f"of training span {lo:.2f}–{hi:.2f} (0.5th to 99.5th percentile)"
            + (": the notebook's band is that spread." if inside else "."),
        }
    ]
    step = nb["val_step"]
    reach = abs(nb["trained_val"] - NOTEBOOK_VAL_LOSS) < 0.01
    if step is None:
        where = f"a fresh zero-init run stays above it for its first {nb['steps_checked']} steps"
    elif step == 0:
        where = f"a fresh zero-init run starts at {nb['val_at_step']:.4f}, below it"
    else:
        where = (
            f"a fresh zero-init run passes it between SGD steps {step - 1} and {step} (dev "
            f"{nb['val_before']:.4f} -> {nb['val_at_step']:.4f})"
        )
    stale = not reach and step is not None and step > 0
    out.append(
        {
            "claim": f"The notebook's final validation loss was {NOTEBOOK_VAL_LOSS}.",
            "verdict": "supported" if reach else "contradicted",
            "evidence": f"the trained zero-init net has dev loss {nb['trained_val']:.4f}; {where}"
            + (
                ": the printed number fits a state a few steps from zero (re-initialised or "
                "stale), not the trained net."
                if stale
                else "."
            ),
        }
    )
    return out
