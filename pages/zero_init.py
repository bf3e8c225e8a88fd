"""Question 1: zero init — which parameters train, and why? Measured, side by side with a
comparison init, the facts beside the answer written from them."""

import streamlit as st

import ui

ui.page_entry()  # before the page's heavy imports: see ui/navigation.py


from mlp_core.config import ACTIVATIONS, ARITHMETICS, RunConfig
from mlp_core.store import run_key
from mlp_core.zero_init import (
    COMPARE_DEFAULT,
    COMPARE_INITS,
    ZERO_INIT_DEFAULT,
    ZeroInitReport,
    zero_init_configs,
    zero_init_report,
)
from mlp_core.zero_init_measure import compare_label
from ui import take_home

PAGE = "zero-init"
BOUND = {"layers": "n_layers"}  # URL name -> its ui.BOUNDS entry, where they differ
_Z, _C = ZERO_INIT_DEFAULT, COMPARE_DEFAULT  # the question's own defaults
DEFAULTS = {
    "activation": _Z.model.activation,
    "batchnorm": _Z.model.batchnorm,
    "layers": _Z.model.n_layers,
    "n_hidden": _Z.model.n_hidden,
    "steps": _Z.train.steps,
    "lr": _Z.train.lr,
    "bn_eps": _Z.model.bn_eps,
    "arithmetic": _Z.train.arithmetic,
    "compare_init": _C["compare"],
    "compare_gain": _C["gain"] or 0.0,  # 0: the activation's own gain (5/3 for tanh)
    "compare_scale": _C["scale"],
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


WORDS = {  # a setting -> its widget's label (controls below), as a preset's note says it
    "activation": "Activation",
    "batchnorm": "BatchNorm",
    "layers": "Hidden layers",
    "n_hidden": "Width",
    "steps": "Steps",
    "lr": "Learning rate",
    "bn_eps": "BatchNorm eps",
    "arithmetic": "Arithmetic",
    "compare_init": "Compare with",
    "compare_gain": "Kaiming gain",
    "compare_scale": "Normal init std",
}


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
    labels = list(TRY)
    for row in range(0, len(labels), 4):  # a row each: on a phone they stack in this order
        for col, label in zip(st.columns(4), labels[row : row + 4]):
            col.button(label, on_click=_apply, args=(label,), width="stretch")
    if label := st.session_state.pop("zi_preset", None):
        changed = ui.settings.in_words(TRY[label], WORDS)
        st.caption(
            f"Preset “{label}”: {changed}; every other setting at its default; "
            f"seed {ui.seed()} kept."
        )


@st.cache_data(max_entries=16, show_spinner="Measuring what trained…", hash_funcs=ui.HASH_FUNCS)
def cached_report(zero, other, ds) -> ZeroInitReport:
    """The report of two runs, measured once per pair (its dev forward passes and exact
    analysis are not redone at every widget change)."""
    return zero_init_report(zero, other, ds)


def show_answer(rep: ZeroInitReport) -> None:
    st.subheader("What trained, and why — measured")
    left, right = st.columns([3, 2])
    lead, _, details = rep.answer.partition("\n\n")
    (left.error if rep.status["zero"] == "diverged" else left.success)(lead)
    if details:
        left.markdown(details)
    if rep.facts.get("compare_trained") is False:
        left.caption(
            "Two comparisons that train at the lecture's settings, one click (every other "
            "setting as now, which may still make them diverge):"
        )
        a, b = left.columns(2)
        a.button("Add BatchNorm", on_click=_also, args=({"batchnorm": True},))
        b.button("One hidden layer of 200", on_click=_also, args=({"layers": 1, "n_hidden": 200},))
    with right:
        ui.zero_init_report.show_facts(rep)


def _also(settings: dict) -> None:
    """Change only these settings, then train."""
    for name, value in settings.items():
        st.session_state[f"zi_{name}"] = value
    ui.request_run(PAGE)


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
rep = cached_report(*outcomes, dataset)
report = ui.zero_init_report
report.show_divergence(rep)
show_answer(rep)
report.show_draft(rep)
report.show_losses(rep)
report.show_params(rep)
st.subheader("The lecture's diagnostics")
ui.diagnostics.side_by_side(
    {
        "zero init": (rep.diagnostics["zero"], keys[0]),
        rep.compare["label"]: (rep.diagnostics["compare"], keys[1]),
    },
    key="zi",
)
report.show_samples(configs, outcomes, dataset, ["Zero init", rep.compare["label"]])
take_home.notebook("zero-init", config, dataset, PAGE, compare)
