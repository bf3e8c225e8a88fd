"""The compare page's form to train more runs without leaving it (pages/compare.py): its
settings seeded from a link, its widgets, the configs it asks for (activation x init x
seed) and their training, the new runs then picked on the page (ui/compare.py)."""

import itertools

import streamlit as st

from mlp_core.config import ACTIVATIONS, INITS, RunConfig
from mlp_core.store import run_key

from . import tables
from .compare import PAGE, select_also
from .datasets import current_dataset
from .run_cache import cache_note, not_stored
from .settings import bounds, note_dropped, param, seed, set_params
from .training import train
from .waiting import form_estimate

MAX_NEW = 8  # runs one submit may train; runs of the same shape train stacked, at once
TO_TRAIN = "cmp_to_train"  # the form's runs, trained by the next run of the page
BOUND = {"lr": "compare_lr"}  # setting -> its ui.BOUNDS entry, where they differ
FORM = {  # setting: default, also the URL parameter's name
    "n_layers": 2,
    "n_hidden": 64,
    "steps": 1000,
    "batch_size": 32,
    "lr": 0.1,
    "batchnorm": False,
    "activations": "tanh",
    "inits": "kaiming",
    "seeds": 1,
}


def _picked(name: str, options: tuple[str, ...]) -> list[str]:
    """A comma-separated choice from the URL; a link's junk entries are dropped, saying so."""
    given = str(param(name, FORM[name])).split(",")
    picked = [v for v in given if v in options] or [FORM[name]]
    if dropped := [v for v in given if v not in options and name in st.query_params]:
        note_dropped(name, dropped, picked)
    return picked


def init_form() -> None:
    """Seed the form's widgets from the link (or this session's last values) once."""
    if "cmp_n_layers" in st.session_state:
        return
    for name in ("n_layers", "n_hidden", "steps", "batch_size", "lr", "seeds"):
        st.session_state[f"cmp_{name}"] = param(name, FORM[name], bound=BOUND.get(name, name))
    st.session_state["cmp_batchnorm"] = param("batchnorm", False)
    st.session_state["cmp_activations"] = _picked("activations", ACTIVATIONS)
    st.session_state["cmp_inits"] = _picked("inits", INITS)


def _form_fields() -> None:
    b = bounds
    c = st.columns(5)
    c[0].number_input("Hidden layers", *b("n_layers"), key="cmp_n_layers")
    c[1].number_input("Width", *b("n_hidden"), key="cmp_n_hidden")
    c[2].number_input("Steps", *b("steps"), step=500, key="cmp_steps")
    c[3].number_input("Batch", *b("batch_size"), key="cmp_batch_size")
    c[4].number_input("Learning rate", *b("compare_lr"), key="cmp_lr", format="%.4f")
    c = st.columns([2, 2, 1, 1])
    c[0].multiselect("Activations", ACTIVATIONS, key="cmp_activations")
    c[1].multiselect("Inits", INITS, key="cmp_inits")
    c[2].number_input("Seeds", *b("seeds"), key="cmp_seeds", help="Seed, seed + 1, … (sidebar)")
    c[3].checkbox("BatchNorm", key="cmp_batchnorm")


def form_configs(write_link: bool = True) -> list[RunConfig]:
    """Every combination the form asks for (activation x init x seed); written to the URL
    (and the link's notes shown) where write_link: in the form, once per run."""
    s = {name: st.session_state[f"cmp_{name}"] for name in FORM}
    if write_link:
        set_params(s | {k: ",".join(s[k]) for k in ("activations", "inits")})
    base = RunConfig().replace(
        n_layers=s["n_layers"],
        n_hidden=s["n_hidden"],
        steps=s["steps"],
        batch_size=s["batch_size"],
        lr=s["lr"],
        batchnorm=s["batchnorm"],
    )
    seeds = range(seed(), seed() + s["seeds"])
    combos = itertools.product(s["activations"], s["inits"], seeds)
    return [base.replace(activation=a, init=i, seed=sd) for a, i, sd in combos]


def not_added(o) -> str:
    """A run that did not finish: where it diverged (its own step, counted from 0 as every
    page counts it), or where it was stopped (the steps it ran)."""
    d = o.metrics.get("diverged_at")
    step = d if o.status == "diverged" and d is not None else o.metrics["steps"]
    return f"{tables.short_label(o.config)}: {o.status} at step {step:,}, not added"


def train_new(cfgs: list[RunConfig]) -> None:
    """Train the form's runs, select them, and draw the page again around them (notes on
    runs that did not finish survive that rerun)."""
    if not cfgs or len(cfgs) > MAX_NEW:
        st.error(f"Pick at least one activation and init, and at most {MAX_NEW} runs in all.")
        return
    ds = current_dataset()
    outcomes = train(cfgs, ds, _coming_names(cfgs, ds), PAGE)
    st.session_state["cmp_notes"] = [not_added(o) for o in outcomes if o.status != "ok"] + (
        [note] if (note := cache_note(outcomes)) else []
    )
    select_also([run_key(o.config, ds.sha256) for o in outcomes if o.status == "ok"])
    st.rerun()


def _coming_names(cfgs: list[RunConfig], ds) -> list[str]:
    """The names (and so the colours) the runs will have in the session's list once
    trained: the live curve's legend is the final chart's."""
    keys, out = list(st.session_state.get("runs", {})), []
    for c in cfgs:
        key = run_key(c, ds.sha256)
        if key not in keys:
            keys.append(key)
        number = keys.index(key) + 1
        out.append(f"#{number} {tables.short_label(c)} · {tables.data_label(ds.source)}")
    return out


FORM_OPEN = "cmp_form_open"  # the form's expander, open or shut as the visitor left it


def _keep_open() -> None:
    st.session_state[FORM_OPEN] = st.session_state["cmp_form"]


@st.fragment
def new_run_form(expanded: bool) -> None:
    """The form to train more runs. A fragment, not an st.form: every tick reruns only this
    part of the page, so the count under it is always the count of what is ticked (an
    st.form sends its widgets' values only on submit). Open at first where there are no
    runs yet; from then on as the visitor left it, through trainings and their Stop."""
    with st.container():  # above the form, seen when it is shut; a slot at every run
        for note in st.session_state.pop("cmp_notes", []):
            st.warning(note)
    with st.expander(
        "Train new runs here",
        expanded=st.session_state.setdefault(FORM_OPEN, expanded),
        key="cmp_form",
        on_change=_keep_open,
    ):
        _form_fields()
        cfgs = form_configs()
        s = st.session_state
        ticked = (len(s["cmp_activations"]), len(s["cmp_inits"]), s["cmp_seeds"])
        st.caption(tables.form_caption(*ticked, MAX_NEW))
        if cfgs:
            ds = current_dataset()
            todo = not_stored(cfgs, ds)
            st.caption(form_estimate(todo, ds, stored=len(cfgs) - len(todo)))
        allowed = 0 < len(cfgs) <= MAX_NEW
        if st.button("Train", type="primary", key="cmp_train", disabled=not allowed):
            # trained in a run of the whole page, not of this fragment: Streamlit queues a
            # fragment's reruns behind a running one, so a Stop pressed during a training
            # in here would wait for its end
            st.session_state[TO_TRAIN] = cfgs
            st.rerun()
