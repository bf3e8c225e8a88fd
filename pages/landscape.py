"""The init landscape: what every init scale does at every depth, for one activation, with
BatchNorm or without; at init (one forward and backward per cell) and after N steps
(each depth's cells trained as one stack, stored like any run)."""

import streamlit as st

import ui

ui.page_entry()  # before the page's heavy imports: see ui/navigation.py

from mlp_core import landscape as L
from mlp_core import train
from mlp_core.config import ACTIVATIONS
from mlp_core.run_text import plural
from ui import landscape as view
from ui import landscape_charts as charts

VIEWS = {"init": "At init (no training)", "trained": "After N steps (trained)"}
OPENS = {"zero init": "Zero init", "compare": "Compare runs"}
COLORS = {k: label for k, (label, _, _) in charts.INIT_METRICS.items()}
CHOICES = {"view": tuple(VIEWS), "color": tuple(COLORS), "opens": tuple(OPENS)}
DEFAULTS = {
    "activation": "tanh",
    "batchnorm": False,
    "view": "init",
    "steps": L.STEPS,
    "color": "std",
    "opens": "zero init",
}


def _init_state() -> None:
    for name, default in DEFAULTS.items():
        if f"ls_{name}" not in st.session_state:
            st.session_state[f"ls_{name}"] = ui.param(name, default, choices=CHOICES.get(name))


def controls() -> dict:
    _init_state()
    with st.container(border=True):
        c = st.columns([1.6, 0.9, 2, 1])
        c[0].radio("Activation", ACTIVATIONS, key="ls_activation", horizontal=True)
        c[1].toggle("BatchNorm", key="ls_batchnorm", help="BatchNorm1d after every Linear")
        c[2].radio("View", list(VIEWS), format_func=VIEWS.get, key="ls_view", horizontal=True)
        c[3].number_input("Steps (N)", *ui.bounds("steps"), step=500, key="ls_steps")
        c = st.columns([2.6, 2])
        if st.session_state["ls_view"] == "init":
            c[0].radio(
                "Colour", list(COLORS), format_func=COLORS.get, key="ls_color", horizontal=True
            )
        c[1].radio(
            "A click opens", list(OPENS), format_func=OPENS.get, key="ls_opens", horizontal=True
        )
    v = {name: st.session_state[f"ls_{name}"] for name in DEFAULTS}
    ui.set_params(v)
    return v


@st.cache_data(max_entries=12, show_spinner=False, hash_funcs=ui.HASH_FUNCS)
def init_cells(ds, activation: str, batchnorm: bool, seed: int, depths) -> list:
    """The at-init view of one panel (a data set hashes as its content hash)."""
    return L.at_init(L.base_config(activation, batchnorm, seed=seed), ds, depths)


def show_init(v: dict, ds, depths) -> dict | None:
    cells = init_cells(ds, v["activation"], v["batchnorm"], ui.seed(), depths)
    event = st.altair_chart(
        charts.init_chart(cells, v["color"]), key="ls-init", on_select="rerun", width="stretch"
    )
    rows = cells[0]["rows"] if cells else L.AT_INIT_ROWS
    st.caption(
        f"One forward and one backward pass per cell on {plural(rows, 'training row')}, no "
        "training. Saturated: tanh |h| > 0.97, sigmoid outside [0.03, 0.97]; ReLU: units "
        "that are 0 on every row (dead). Gradient ratio: the loss gradient's std at the first "
        "hidden layer over the last (1: it reaches the first layer undiminished). Hover a cell "
        "for every layer's numbers."
    )
    return event


def show_trained(v: dict, ds, depths) -> dict | None:
    base = L.base_config(v["activation"], v["batchnorm"], int(v["steps"]), ui.seed())
    slot = st.empty()

    def draw() -> None:
        cells = view.known_cells(base, ds, depths).values()
        slot.altair_chart(charts.trained_chart(list(cells), ds, base.train.steps), width="stretch")

    cells = view.known_cells(base, ds, depths)
    todo = view.missing(base, ds, depths)
    label = f"Train the {view.missing_label(todo)}" if todo else ""
    if todo and st.button(label, type="primary", key="ls-train"):
        draw()
        view.sweep(base, ds, list(todo), draw)
        st.rerun()
    chart = charts.trained_chart(list(cells.values()), ds, base.train.steps)
    event = st.altair_chart(chart, key="ls-trained", on_select="rerun", width="stretch")
    st.caption(
        "Dev loss after N steps of SGD (lr 0.1, batch 32, width 100), coloured on this data's "
        f"own ladder (its dev losses): {charts.ladder_colors(ds)[2]}. The unigram model is "
        "the character frequencies, the bigram model the next character's frequencies after "
        "each character. Each depth's cells train as one stack and are stored like any run."
    )
    return event


rows = tuple(range(1, ui.cap("n_layers", L.DEPTHS[-1]) + 1))
st.markdown(
    "Every **init scale** (columns: zero, then 0.01× to 10× the activation's kaiming gain) "
    f"at every **depth** (rows: 1 to {rows[-1]} hidden layers of 100). The zero column is "
    "Zero init's own run, the 1× column its default comparison. Click a cell to open its run."
)
view.stopped_note()
dataset = ui.current_dataset()
settings = controls()
show = show_init if settings["view"] == "init" else show_trained
picked = (show(settings, dataset, rows) or {}).get("selection", {}).get("cell")
if picked:
    base = L.base_config(
        settings["activation"], settings["batchnorm"], int(settings["steps"]), ui.seed()
    )
    view.open_cell(base, dataset, picked[0]["depth"], picked[0]["scale"], settings["opens"])
train.warm_workers()  # after the page is drawn: a Train press finds the worker process started
