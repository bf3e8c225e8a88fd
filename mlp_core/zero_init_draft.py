"""The user's draft answer (answer A1 of their makemore part 3 notebook) and the numbers
their notebook printed, judged claim by claim by the measured facts (zero_init.measure):
the verdicts read the same facts as the answer (zero_init_text.py), so they agree."""

from __future__ import annotations

from .run_text import plural

DRAFT = (
    "If we initialize the weights and biases to zero, if our non-linear function is a sigmoid "
    "or tanh, the gradient will be zero for all the weights and biases. This will cause the "
    "network to not learn anything because all the neurons emit the SAME thing. We can assume "
    "that only the output layer is the one for which the gradient is non-zero and hence that "
    "is the only thing that helps in training."
)
DRAFT_SOURCE = "answer A1 of your makemore part 3 notebook"
NOTEBOOK_BATCH_LOSSES = ("2.5", "3.1")  # the notebook's printed minibatch losses, as printed
NOTEBOOK_VAL_LOSS = "3.2870"  # the notebook's printed final loss on its Xval = words[n2:]


def assess_draft(f: dict) -> list[dict]:
    """The user's draft (and the notebook's printed numbers), claim by claim, judged by the
    measured facts; every verdict reads the same facts as the answer, so they agree."""
    if f["status"]["zero"] == "diverged":
        return []
    claims = [_all_zero(f), _learns_nothing(f), _same_neurons(f), _only_output(f)]
    if f["activation"] == "sigmoid":
        claims.append(
            _claim(
                "Sigmoid behaves like tanh here (hidden units zero).",
                "contradicted" if not f["hidden_zero_at_start"] else "supported",
                f"hidden means at step 0: {[round(m, 4) for m in f['hidden_mean_at_start']]}.",
            )
        )
    return claims + _notebook_claims(f["notebook_numbers"])


def _claim(text: str, verdict: str, evidence: str) -> dict:
    return {"claim": text, "verdict": verdict, "evidence": evidence}


def _roundoff(f: dict) -> str:
    n = len(f["roundoff"])
    return f" ({n} more got only float round-off, exactly 0 in exact arithmetic)" if n else ""


def _all_zero(f: dict) -> dict:
    act, exact = f["activation"], f["exact"]
    if act not in ("tanh", "sigmoid"):
        return _claim(
            "With sigmoid or tanh, the gradient is zero for all the weights and biases.",
            "not tested",
            f"this run uses {act}; pick tanh or sigmoid to test it.",
        )
    return _claim(
        f"With {act}, the gradient is zero for all the weights and biases.",
        "contradicted" if exact else "supported",
        f"{len(exact)} of {f['n_params']} tensors get a gradient in exact arithmetic: "
        f"{', '.join(exact) or 'none'}{_roundoff(f)}.",
    )


def _learns_nothing(f: dict) -> dict:
    """Learned: its loss on the training split, what it was trained on, is below the
    uniform guess it started from (a tiny dev split can stay above it while training learns
    the frequencies). Each clause after that is a comparison or an exact fact."""
    b, val, train = f["baselines"], f["val_loss"]["zero"], f["train_loss"]["zero"]
    learned = train is not None and train < b["uniform"]
    if not learned:
        what = "no better than a uniform guess on the training split."
    else:
        below = "below" if val is not None and val < b["dev_unigram"] else "not below"
        what = (
            f"its dev loss, {_loss(val)}, is {below} the unigram model's ({b['dev_unigram']:.4f})"
        )
        if not f["exact_context"]:
            cd = f["context_dependence"]["zero"]
            what += (
                "; in exact arithmetic its output ignores the context, so it learns the "
                "character frequencies only"
                + (f" (in this run rounding makes it vary by {cd:.1e} nats)" if cd else "")
            )
        what += "."
    return _claim(
        "The network does not learn anything.",
        "contradicted" if learned else "supported",
        f"training-split loss {_loss(train)} vs {b['uniform']:.4f} for a uniform guess: {what}",
    )


def _loss(x) -> str:
    return "not finite" if x is None or x != x else f"{x:.4f}"


def _only_output(f: dict) -> dict:
    out, exact, later = set(f["output_params"]), set(f["exact"]), f["later"]
    evidence = (
        f"gradients: {', '.join(f['exact']) or 'none'}{_roundoff(f)}; "
        f"output layer: {', '.join(sorted(out))}."
    )
    if not exact or not exact <= out:
        verdict = "contradicted"
    elif later and not set(later) <= out:
        verdict = "partly supported"
        onsets = [(f["gradients"][n]["onset"], n) for n in later if n not in out]
        evidence += (
            f" Only because the run stopped after {plural(f['steps'], 'step')}: later "
            + ", ".join(f"{n} from step {t:,}" for t, n in sorted(onsets))
            + " get one too."
        )
    else:
        verdict = "supported" if exact == out else "partly supported"
    return _claim(
        "Only the output layer gets a nonzero gradient; it alone trains.", verdict, evidence
    )


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
    """The notebook's printed numbers, judged at the precision it printed them, on the splits
    it used."""
    if not nb:
        return []
    return [_band_claim(nb), _val_claim(nb)]


def _band_claim(nb: dict) -> dict:
    """Supported when the run's band of minibatch losses, printed to one decimal as the
    notebook printed them, is the notebook's band give or take one in that decimal."""
    lo, hi = nb["batch_band"]
    plo, phi = (float(x) for x in NOTEBOOK_BATCH_LOSSES)
    same = abs(round(lo, 1) - plo) <= 0.1 + 1e-9 and abs(round(hi, 1) - phi) <= 0.1 + 1e-9
    return _claim(
        f"The notebook's minibatch losses were {NOTEBOOK_BATCH_LOSSES[0]}–"
        f"{NOTEBOOK_BATCH_LOSSES[1]} while training.",
        "supported" if same else "contradicted",
        f"batch-{nb['batch_size']} losses of this zero-init run over the last half of training "
        f"span {lo:.2f}–{hi:.2f} (0.5th to 99.5th percentile)"
        + (
            ": the same band at the notebook's one decimal."
            if same
            else ", not the notebook's band at its one decimal."
        )
        + _data_note(nb),
    )


def _val_claim(nb: dict) -> dict:
    """The notebook's 3.2870 is its loss on the third split; supported only when a measured
    state of this run prints the same at four decimals."""
    fresh, trained = nb["fresh_test"], nb["trained_test"]
    states = {"the fresh net": fresh, "the trained net": trained}
    match = [k for k, v in states.items() if v is not None and f"{v:.4f}" == NOTEBOOK_VAL_LOSS]
    shown = "; ".join(f"{k} {v:.4f}" for k, v in states.items() if v is not None)
    return _claim(
        f"The notebook's final validation loss was {NOTEBOOK_VAL_LOSS}.",
        "supported" if match else "contradicted",
        f"on the third split (the notebook's Xval = words[n2:]): {shown}."
        + (
            f" {match[0].capitalize()} prints the same."
            if match
            else " Neither prints as the notebook's number, and nothing measured here explains it."
        )
        + _data_note(nb),
    )


def _data_note(nb: dict) -> str:
    return " Measured on the data set in use; the notebook ran on names.txt."
