"""Question 1: zero init — which parameters train, and why? Measured, side by side with a
comparison init, the facts beside the answer written from them."""

import streamlit as st

import ui

ui.page_entry()  # before the page's heavy imports: see ui/navigation.py

import pandas as pd

from mlp_core.config import ACTIVATIONS, ARITHMETICS, RunConfig
from mlp_core.run_text import reason
from mlp_core.sample import sample_names
from mlp_core.store import run_key
from mlp_core.zero_init import (
    COMPARE_INITS,
    ZeroInitReport,
    zero_init_configs,
    zero_init_report,
)
from mlp_core.zero_init_measure import compare_label
from ui import take_home

PAGE = "zero-init"
BOUND = {"layers": "n_layers"}  # URL name -> its ui.BOUNDS entry, where they differ
DEFAULTS = {
    "activation": "tanh",
    "batchnorm": False,
    "layers": 5,
    "n_hidden": 100,
    "steps": 3000,
    "lr": 0.1,
    "bn_eps": 1e-5,
    "arithmetic": "engine",
    "compare_init": "kaiming",
    "compare_gain": 0.0,  # 0: the activation's own gain (5/3 for tanh)
    "compare_scale": 0.01,
}
TRY = {  # the "try this" list: label -> what the preset is about (the rest: DEFAULTS)
    "Sigmoid": {"activation": "sigmoid"},
    "ReLU": {"activation": "relu"},
    "Tanh + BatchNorm": {"batchnorm": True},
    "Sigmoid + BatchNorm": {"activation": "sigmoid", "batchnorm": True},
    "BatchNorm without eps": {"batchnorm": True, "bn_eps": 0.0},
    "Sigmoid 1×200, 20k steps": {
        "activation": "sigmoid",
        "layers": 1,
        "n_hidden": 200,
        "steps": 20_000,
    },
    "… in your notebook's arithmetic": {
        "activation": "sigmoid",
        "layers": 1,
        "n_hidden": 200,
        "steps": 20_000,
        "arithmetic": "notebook",
    },
}
VERDICT = {
    "supported": "✔ supported",
    "contradicted": "✘ contradicted",
    "partly supported": "◐ partly supported",
    "not tested": "– not tested",
}
KIND_ORDER = {"exact": 0, "later": 1, "round-off": 2, "none": 3, None: 4}


def _init_state() -> None:
    for name, default in DEFAULTS.items():
        key = f"zi_{name}"
        if key not in st.session_state:
            st.session_state[key] = ui.param(name, default, bound=BOUND.get(name, name))


def _apply(label: str) -> None:
    """A "try this" button: every page setting from its preset (the rest from the
    defaults), the seed kept; then its result at once."""
    settings = DEFAULTS | TRY[label]
    for name, value in settings.items():
        st.session_state[f"zi_{name}"] = value
    st.session_state["zi_preset"] = label
    ui.request_run(PAGE)


def controls() -> tuple[RunConfig, dict]:
    _init_state()
    with st.container(border=True):
        c1, c2, c3, c4, c5 = st.columns([1.7, 1, 1, 1, 1])
        c1.radio("Activation", ACTIVATIONS, key="zi_activation", horizontal=True)
        c2.toggle("BatchNorm", key="zi_batchnorm", help="BatchNorm1d after every Linear")
        c3.number_input("Hidden layers", *ui.bounds("n_layers"), key="zi_layers")
        c4.number_input("Width", *ui.bounds("n_hidden"), key="zi_n_hidden")
        c5.number_input("Steps", *ui.bounds("steps"), step=500, key="zi_steps")
        c1, c2, c3 = st.columns([1.7, 1, 2])
        c1.radio(
            "Arithmetic",
            ARITHMETICS,
            key="zi_arithmetic",
            horizontal=True,
            help="engine: the fast planned engine (each bias rides inside its matmul). "
            "notebook: the lecture's loop as your notebook computes it (x @ W + b, "
            "autograd, float32) — slower, and it rounds differently.",
        )
        c2.selectbox("Compare with", COMPARE_INITS, key="zi_compare_init")
        if st.session_state["zi_compare_init"] == "kaiming":
            c3.number_input(
                "Kaiming gain (0 = the activation's: 5/3 tanh, 1 sigmoid, √2 relu)",
                0.0,
                ui.bounds("compare_gain")[1],
                key="zi_compare_gain",
                format="%.3f",
            )
        elif st.session_state["zi_compare_init"] == "normal":
            c3.number_input(
                "Normal init std",
                *ui.bounds("compare_scale"),
                key="zi_compare_scale",
                format="%.4f",
            )
        with st.expander("More settings"):
            a, b = st.columns(2)
            a.number_input("Learning rate", *ui.bounds("lr"), key="zi_lr", format="%.4f")
            b.number_input(
                "BatchNorm eps",
                *ui.bounds("bn_eps"),
                key="zi_bn_eps",
                format="%.0e",
                help="0 shows what eps is for",
            )
    _presets()
    v = {n: st.session_state[f"zi_{n}"] for n in DEFAULTS}
    ui.set_params(v)
    cfg = RunConfig().replace(
        activation=v["activation"],
        batchnorm=v["batchnorm"],
        n_layers=int(v["layers"]),
        n_hidden=int(v["n_hidden"]),
        steps=int(v["steps"]),
        lr=float(v["lr"]),
        bn_eps=float(v["bn_eps"]) if v["batchnorm"] else DEFAULTS["bn_eps"],
        arithmetic=v["arithmetic"],
        seed=ui.seed(),
    )
    gain = float(v["compare_gain"]) or None
    return cfg, {"compare": v["compare_init"], "gain": gain, "scale": float(v["compare_scale"])}


def _presets() -> None:
    st.caption(
        "**Try this** (a preset sets every setting above, from the defaults; the seed stays):"
    )
    cols = st.columns(4)
    for i, label in enumerate(TRY):
        cols[i % 4].button(label, on_click=_apply, args=(label,), width="stretch")
    if label := st.session_state.pop("zi_preset", None):
        changed = ", ".join(f"{k} {v}" for k, v in TRY[label].items())
        st.caption(
            f"Preset “{label}”: {changed}; every other setting at its default; "
            f"seed {ui.seed()} kept."
        )


@st.cache_data(max_entries=16, show_spinner="Measuring what trained…")
def cached_report(keys: tuple, _zero, _other, _ds) -> ZeroInitReport:
    """The report of two runs, measured once per pair (its dev forward passes and exact
    analysis are not redone at every widget change); keys (the runs' content hashes) stand
    for the unhashable outcomes and data set."""
    return zero_init_report(_zero, _other, _ds)


def show_answer(rep: ZeroInitReport) -> None:
    st.subheader("What trained, and why — measured")
    left, right = st.columns([3, 2])
    lead, _, details = rep.answer.partition("\n\n")
    (left.error if rep.status["zero"] == "diverged" else left.success)(lead)
    if details:
        left.markdown(details)
    if rep.facts.get("compare_trained") is False:
        left.caption("A comparison that trains, one click (every other setting as now):")
        a, b = left.columns(2)
        a.button("Add BatchNorm", on_click=_also, args=({"batchnorm": True},))
        b.button("One hidden layer of 200", on_click=_also, args=({"layers": 1, "n_hidden": 200},))
    with right:
        show_facts(rep)


def _also(settings: dict) -> None:
    """Change only these settings, then train."""
    for name, value in settings.items():
        st.session_state[f"zi_{name}"] = value
    ui.request_run(PAGE)


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
    cd = f["context_dependence"]["zero"]
    c[0].metric(
        "Output varies with context",
        ("yes" if f["exact_context"] else "no") + " (exact)",
        f"{cd:.2g} nats in this run",
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
    st.caption(f"The draft is {rep.draft_source}; below it, each claim judged by this run.")
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
    cols[0].metric("Dev loss, zero init", _fmt(v["zero"]))
    cols[1].metric(f"Dev loss, {rep.compare['init']}", _fmt(v["compare"]))
    cols[2].metric("Uniform (ln vocab)", f"{b['uniform']:.4f}")
    cols[3].metric(
        "Unigram (dev)", f"{b['dev_unigram']:.4f}", help="Fitted on train, scored on dev"
    )
    cols[4].metric("Bigram (dev)", f"{b['dev_bigram']:.4f}", help="Fitted on train, scored on dev")
    names = {"zero": "zero init", "compare": rep.compare["label"]}
    curves = {names[k]: c for k, c in rep.curves.items() if c and c["step"]}
    if curves:
        st.altair_chart(ui.charts.loss_curves(curves, b), width="stretch")
        st.caption("Curves start at step 0, before any update: ln(vocab) for a zero-init net.")


def _fmt(x) -> str:
    return "diverged" if x is None or x != x else f"{x:.4f}"


def show_params(rep: ZeroInitReport) -> None:
    st.subheader("Every parameter tensor of the zero-init run")
    rows = sorted(rep.params, key=lambda p: KIND_ORDER.get(p.get("gradient_kind"), 4))
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
        "arithmetic, and its size there (none: exactly zero at every step). Largest in run: "
        "the largest gradient norm this run's float32 arithmetic saw (each of the first 100 "
        "steps, then every steps/50, and the last); moved: how far the tensor moved from its "
        "initial value. Round-off only: exactly zero in exact arithmetic, nonzero in floats."
    )


def _exact(p: dict) -> str:
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
        col.code("\n".join(n or "(empty)" for n in names), language=None)


st.markdown(
    "Every Linear weight and bias set to **zero**, trained next to a comparison init with "
    "the same seed and minibatches. The answer is written from what this run measured — "
    "change the activation, the shape, BatchNorm or the arithmetic and it changes with the facts."
)
dataset = ui.current_dataset()
config, compare = controls()
configs = zero_init_configs(config, **compare)
labels = ["zero init", compare_label(configs[1].model)]
outcomes = ui.result_or_button(
    configs,
    dataset,
    labels,
    PAGE,
    "Run zero init vs its comparison",
    autorun_first_visit=True,
)
if outcomes is None:
    st.info("Press **Run** to train both nets (a few seconds at the defaults).")
    st.stop()
if any(o.status == "stopped" for o in outcomes):
    st.stop()  # app.py's ui.stopped_note() says where it stopped
keys = [run_key(c, dataset.sha256) for c in configs]
rep = cached_report(tuple(keys), *outcomes, dataset)
show_divergence(rep)
show_answer(rep)
show_draft(rep)
show_losses(rep)
show_params(rep)
st.subheader("The lecture's diagnostics")
ui.diagnostics.side_by_side(
    {
        "zero init": (rep.diagnostics["zero"], keys[0]),
        rep.compare["label"]: (rep.diagnostics["compare"], keys[1]),
    },
    key="zi",
)
show_samples(configs, outcomes, dataset, ["Zero init", rep.compare["label"]])
take_home.notebook("zero-init", config, dataset, PAGE, compare)
