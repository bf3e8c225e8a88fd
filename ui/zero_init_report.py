"""The zero-init page's report, drawn from a ZeroInitReport: the facts beside the answer,
the draft judged claim by claim, the losses on the data's ladder, every parameter
tensor's gradient in exact arithmetic beside the run's floats, and names sampled from
both nets. Every number and word comes from the report's facts (mlp_core/zero_init*.py)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mlp_core.run_text import reason
from mlp_core.sample import sample_names
from mlp_core.zero_init import ZeroInitReport

from . import charts

VERDICT = {
    "supported": "✔ supported",
    "contradicted": "✘ contradicted",
    "partly supported": "◐ partly supported",
    "not tested": "– not tested",
}
EMPTY_NAME = "∅  (an empty name: the model ended the word at once)"
KIND_ORDER = {
    "exact": 0,
    "later": 1,
    "round-off": 2,
    "undecided": 3,
    "undefined": 4,
    "none": 5,
    None: 6,
}


def show_facts(rep: ZeroInitReport) -> None:
    """The measured facts the answer is written from, where it is read."""
    f = rep.facts
    if rep.status["zero"] == "diverged":
        d = f["diverged"]["zero"]
        st.metric("Zero-init run", "diverged", f"step {d['step']:,}", delta_color="off")
        return
    n = f["n_params"]
    c = st.columns(2)
    c[0].metric(
        "Tensors with a gradient",
        f"{len(f['exact'])} of {n}",
        help="Nonzero in exact arithmetic within this run's steps",
    )
    c[1].metric(
        "Round-off only",
        len(f["roundoff"]),
        help="Exactly zero in exact arithmetic, nonzero in this run's floats",
    )
    # a net that uses the context: its weights' spread (float64), where float64 measures
    # it; else the run's own rounding
    if f["exact_context"]:
        spread, res = f["context_spread"]["zero"], f["context_resolution"]["zero"]
        varies = f"{spread:.2g} nats (float64)" if spread > res else "too little for float64"
    else:
        varies = f"{f['context_dependence']['zero']:.2g} nats in this run"
    c[0].metric(
        "Output varies with context",
        ("yes" if f["exact_context"] else "no") + " (exact)",
        varies,
        delta_color="off",
        help="Exact: every link from C to the output is nonzero. In this run: spread of the "
        "log-probabilities across dev contexts (0 = the same prediction everywhere)",
    )
    width = [w["distinct_neurons"] for w in f["effective_width"]["zero"] or []]
    shown = f"{width[0]} of {f['n_hidden']}" if len(set(width)) == 1 else ", ".join(map(str, width))
    c[1].metric(
        "Distinct neurons / layer", shown, help=f"Per hidden layer, over dev activations: {width}"
    )
    val, uni = rep.val_loss["zero"], rep.baselines["dev_unigram"]
    c[0].metric(
        "Dev loss, zero init", f"{val:.4f}", f"{val - uni:+.4f} vs unigram", delta_color="off"
    )
    r = f["regime"]["zero"]
    c[1].metric(
        "Dev loss curve",
        r["state"],
        None if r["change"] is None else f"{r['change']:+.4f} over the last half",
        delta_color="off",
        help="A line fit to the dev points of the last half of training, with its noise band",
    )
    st.caption(f"Arithmetic: {f['arithmetic']}. Compared with: {rep.compare['label']}.")


def show_draft(rep: ZeroInitReport) -> None:
    st.subheader("Your draft answer, claim by claim")
    st.caption(
        f"The draft below is {rep.draft_source}, quoted as written (fixed text, not an input); "
        "under it, each claim judged by this run."
    )
    st.text(rep.draft)
    for c in rep.draft_assessment:
        st.markdown(f"**{VERDICT[c['verdict']]}** — {c['claim']}  \n{c['evidence']}")


def show_divergence(rep: ZeroInitReport) -> None:
    for run, d in rep.facts["diverged"].items():
        if d is not None:
            name = "zero-init" if run == "zero" else rep.compare["label"]
            st.error(
                f"The {name} run diverged at step {d['step']:,}: {reason(d)}. It was stopped, "
                "and nothing of it was cached."
            )


def show_losses(rep: ZeroInitReport) -> None:
    b, v = rep.baselines, rep.val_loss
    cols = st.columns(5)
    s = rep.status
    cols[0].metric("Dev loss, zero init", _fmt(v["zero"], s["zero"]))
    cols[1].metric(f"Dev loss, {rep.compare['init']}", _fmt(v["compare"], s["compare"]))
    cols[2].metric("Uniform (ln vocab)", f"{b['uniform']:.4f}")
    cols[3].metric(
        "Unigram (dev)", f"{b['dev_unigram']:.4f}", help="Fitted on train, scored on dev"
    )
    cols[4].metric("Bigram (dev)", f"{b['dev_bigram']:.4f}", help="Fitted on train, scored on dev")
    names = {"zero": "zero init", "compare": rep.compare["label"]}
    curves = {names[k]: c for k, c in rep.curves.items() if c and c["step"]}
    if curves:
        st.altair_chart(charts.loss_curves(curves, b), width="stretch")
        st.caption(
            "Curves start at step 0, before any update: ln(vocab) for a zero-init net. Click "
            "a run in the legend to pick its curves out; double-click the chart to see every "
            "curve again."
        )


def _fmt(x, status: str = "ok") -> str:
    """A dev loss, or "diverged" for a diverged run (its last weights are no trained
    state) and for a loss that is not a number."""
    return "diverged" if status == "diverged" or x is None or x != x else f"{x:.4f}"


def show_params(rep: ZeroInitReport) -> None:
    st.subheader("Every parameter tensor of the zero-init run")
    rows = sorted(rep.params, key=lambda p: KIND_ORDER.get(p.get("gradient_kind"), 6))
    table = pd.DataFrame(
        {
            "name": [p["name"] for p in rows],
            "shape": [" × ".join(map(str, p["shape"])) for p in rows],
            "exact gradient": [_exact(p) for p in rows],
            "largest in run": [_sci(p["grad_norm_max"]) for p in rows],
            "moved": [_sci(p["moved"]) for p in rows],
            "verdict": [p.get("verdict") or "" for p in rows],
        }
    )
    st.table(table.style.hide())  # every row, no inner scroll: the rows with a gradient first
    st.caption(
        "Exact gradient: the first step at which the tensor's gradient is nonzero in exact "
        "arithmetic, and its size there (none: exactly zero at every step; undefined: the "
        "exact computation divides 0 by 0). Largest in run: "
        "the largest gradient norm this run's float32 arithmetic saw (each of the first 100 "
        "steps, then every steps/50, and the last); moved: how far the tensor moved from its "
        "initial value. Round-off only: exactly zero in exact arithmetic, nonzero in floats."
    )


def _exact(p: dict) -> str:
    if p.get("gradient_kind") == "undecided":
        return "too small to resolve"
    if p.get("gradient_kind") == "undefined":
        return "undefined (0/0)"
    if p.get("gradient_kind") not in ("exact", "later"):
        return "none"
    return f"from step {p['onset']:,}: {p['exact_size']}"


def _sci(x) -> str:
    return "" if x is None else "0" if x == 0 else f"{x:.2e}"


def show_samples(cfgs, outcomes, ds, labels) -> None:
    st.subheader("Names sampled from each model")
    for col, cfg, o, label in zip(st.columns(2), cfgs, outcomes, labels):
        col.markdown(f"**{label}**")
        if o.status != "ok":
            col.write(f"No samples: the run {o.status}.")
            continue
        names = sample_names(
            cfg.model, o.state, ds.itos, cfg.data.block_size, n=12, seed=cfg.train.seed
        )
        col.code("\n".join(n or EMPTY_NAME for n in names), language=None)
