"""Question 1: zero init — which parameters train, and why? Measured, side by side with a
proper (kaiming) init, and the answer written from the measurements."""

import pandas as pd
import streamlit as st

import ui
from mlp_core.config import ACTIVATIONS, RunConfig
from mlp_core.sample import sample_names
from mlp_core.zero_init import ZeroInitReport, zero_init_configs, zero_init_report

ui.page_entry()

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
}
TRY = {  # the "try this" list: label -> settings
    "Sigmoid": {"activation": "sigmoid", "batchnorm": False},
    "ReLU": {"activation": "relu", "batchnorm": False},
    "Tanh + BatchNorm": {"activation": "tanh", "batchnorm": True, "bn_eps": 1e-5},
    "Sigmoid + BatchNorm": {"activation": "sigmoid", "batchnorm": True, "bn_eps": 1e-5},
    "BatchNorm without eps": {"activation": "tanh", "batchnorm": True, "bn_eps": 0.0},
}
VERDICT = {
    "supported": "✔ supported",
    "contradicted": "✘ contradicted",
    "partly supported": "◐ partly supported",
    "not tested": "– not tested",
}


def _init_state() -> None:
    for name, default in DEFAULTS.items():
        key = f"zi_{name}"
        if key not in st.session_state:
            st.session_state[key] = ui.param(name, default, bound=BOUND.get(name, name))


def _apply(settings: dict) -> None:
    """A "try this" button: its settings, and their result at once."""
    for name, value in settings.items():
        st.session_state[f"zi_{name}"] = value
    ui.request_run(PAGE)


def controls() -> RunConfig:
    _init_state()
    with st.container(border=True):
        c1, c2, c3, c4, c5 = st.columns([1.7, 1, 1, 1, 1])
        c1.radio("Activation", ACTIVATIONS, key="zi_activation", horizontal=True)
        c2.toggle("BatchNorm", key="zi_batchnorm", help="BatchNorm1d after every Linear")
        c3.number_input("Hidden layers", *ui.bounds("n_layers"), key="zi_layers")
        c4.number_input("Width", *ui.bounds("n_hidden"), key="zi_n_hidden")
        c5.number_input("Steps", *ui.bounds("steps"), step=500, key="zi_steps")
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
    st.caption("**Try this:**")
    for col, (label, settings) in zip(st.columns(len(TRY)), TRY.items()):
        col.button(label, on_click=_apply, args=(settings,), width="stretch")
    values = {n: st.session_state[f"zi_{n}"] for n in DEFAULTS}
    ui.set_params(values)
    return RunConfig().replace(
        activation=values["activation"],
        batchnorm=values["batchnorm"],
        n_layers=int(values["layers"]),
        n_hidden=int(values["n_hidden"]),
        steps=int(values["steps"]),
        lr=float(values["lr"]),
        bn_eps=float(values["bn_eps"]),
        seed=ui.seed(),
    )


def show_answer(report: ZeroInitReport) -> None:
    st.subheader("What trained, and why — measured")
    st.success(report.answer)
    st.markdown("**The draft answer, claim by claim**")
    with st.expander("The draft, as written"):
        st.write(report.draft)
    rows = [
        {"claim": c["claim"], "verdict": VERDICT[c["verdict"]], "evidence": c["evidence"]}
        for c in report.draft_assessment
    ]
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def show_divergence(report: ZeroInitReport) -> None:
    for run, step in report.diverged_at.items():
        if step is not None:
            st.error(
                f"The {run}-init run diverged at step {step:,}: its loss became NaN, "
                "infinite or absurdly large, so it was stopped and nothing of it was cached."
                + ("" if run == "zero" else " Try a smaller learning rate.")
            )


def show_losses(report: ZeroInitReport) -> None:
    b, v = report.baselines, report.val_loss
    cols = st.columns(5)
    cols[0].metric("Dev loss, zero init", _fmt(v["zero"]))
    cols[1].metric("Dev loss, kaiming", _fmt(v["kaiming"]))
    cols[2].metric("Uniform (ln vocab)", f"{b['uniform']:.4f}")
    cols[3].metric("Unigram entropy", f"{b['unigram_entropy']:.4f}")
    cols[4].metric("Bigram", f"{b['bigram']:.4f}")
    curves = {k: c for k, c in report.curves.items() if c["step"]}
    if curves:
        chart = ui.charts.loss_curves({f"{k} init": c for k, c in curves.items()}, b)
        st.altair_chart(chart, width="stretch")


def _fmt(x) -> str:
    return "diverged" if x is None or x != x else f"{x:.4f}"


def show_params(report: ZeroInitReport) -> None:
    st.subheader("Every parameter tensor of the zero-init run")
    df = pd.DataFrame(report.params)
    df["grad vs largest"] = [report.facts["grad_rel"][n] for n in df["name"]]
    df["shape"] = df["shape"].map(lambda s: " × ".join(map(str, s)))
    cols = [
        "name",
        "shape",
        "trained",
        "grad_norm_max",
        "grad vs largest",
        "moved",
        "distinct_neurons",
        "rank",
    ]
    df = df[[c for c in cols if c in df]]
    style = df.style.apply(
        lambda r: ["background-color: rgba(0, 160, 80, 0.18)" if r["trained"] else ""] * len(r),
        axis=1,
    ).format(
        {
            "grad_norm_max": "{:.2e}",
            "grad vs largest": "{:.1e}",
            "moved": "{:.2e}",
            "distinct_neurons": "{:.0f}",
            "rank": "{:.0f}",
        },
        na_rep="",
    )
    st.dataframe(style, hide_index=True, width="stretch")
    st.caption(
        "trained: it moved, or had a nonzero gradient where gradients were read (each of "
        "the first 100 steps, then every steps/50; grad_norm_max is the largest of those). "
        "distinct_neurons: output columns that differ by more than 1e-4 of their norm. "
        "Highlighted rows trained."
    )


def show_diagnostics(diag: dict, key: str) -> None:
    if not diag["hist_steps"]:
        st.info("No diagnostics were captured (the run stopped at once).")
        return
    step = st.select_slider(
        "Step", diag["hist_steps"], value=diag["hist_steps"][-1], key=f"zi_hist_{key}"
    )
    i = diag["hist_steps"].index(step)
    j = diag["steps"].index(step)
    sat = {
        n: f"mean {r['mean'][j]:+.2f}, std {r['std'][j]:.2f}, saturated "
        f"{100 * r['saturation'][j]:.0f}%"
        for n, r in diag["activations"].items()
    }
    a, b = st.columns(2)
    a.altair_chart(ui.charts.histograms(diag["act_hist"][i], "Activations", sat), width="stretch")
    b.altair_chart(
        ui.charts.histograms(diag["grad_hist"][i], "Activation gradients"), width="stretch"
    )
    a, b = st.columns(2)
    a.altair_chart(ui.charts.histograms(diag["wgrad_hist"][i], "Weight gradients"), width="stretch")
    ratios = {n: v for n, v in diag["update_ratio"].items() if n.endswith("weight")}
    b.altair_chart(
        ui.charts.over_time(
            diag["steps"], ratios, "Update : data ratio (log10)", "log10 ratio", rule=-3.0
        ),
        width="stretch",
    )
    st.altair_chart(
        ui.charts.over_time(
            diag["steps"],
            diag["neuron_spread"],
            "Spread between neurons (0 = all identical)",
            "spread",
        ),
        width="stretch",
    )


def show_samples(cfgs, outcomes, ds) -> None:
    st.subheader("Names sampled from each model")
    for col, cfg, o, label in zip(st.columns(2), cfgs, outcomes, ("Zero init", "Kaiming")):
        col.markdown(f"**{label}**")
        if o.status != "ok":
            col.write(f"No samples: the run {o.status}.")
            continue
        names = sample_names(
            cfg.model, o.state, ds.itos, cfg.data.block_size, n=12, seed=cfg.train.seed
        )
        col.code("\n".join(n or "(empty)" for n in names), language=None)


st.title("Zero init: what trains, and why?")
st.markdown(
    "Every Linear weight and bias set to **zero**, trained next to a **kaiming** init "
    "with the same seed and minibatches. The answer below is written from what this run "
    "measured — change the activation or add BatchNorm and it changes with the facts."
)
dataset = ui.current_dataset()
configs = zero_init_configs(controls())
outcomes = ui.result_or_button(
    configs,
    dataset,
    ["zero init", "kaiming init"],
    PAGE,
    "Run zero init vs kaiming",
    autorun_first_visit=True,
)
if outcomes is None:
    st.info("Press **Run** to train both nets (a few seconds at the defaults).")
    st.stop()
rep = zero_init_report(outcomes[0], outcomes[1], dataset)
show_divergence(rep)
show_answer(rep)
show_losses(rep)
show_params(rep)
st.subheader("The lecture's diagnostics")
for tab, name in zip(st.tabs(["Zero init", "Kaiming init"]), ("zero", "kaiming")):
    with tab:
        show_diagnostics(rep.diagnostics[name], name)
show_samples(configs, outcomes, dataset)
