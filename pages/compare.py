"""Compare runs: every run of this session side by side (curves overlaid, final metrics,
the settings that differ), a form to train more without leaving the page, and an export."""

import streamlit as st

import ui

ui.page_entry()  # before the page's heavy imports: see ui/navigation.py

import itertools

from mlp_core.config import ACTIVATIONS, INITS, RunConfig
from mlp_core.store import run_key
from ui import charts, presets, tables, take_home
from ui.text import md_escape, md_frame
from ui.waiting import form_estimate

PAGE = "compare"
MAX_NEW = 8  # runs one submit may train; runs of the same shape train stacked, at once
SHOWN_AT_FIRST = 6  # the newest runs selected when the page opens
MAX_SHOWN = charts.MAX_RUNS  # runs overlaid at once: no two share a colour
TO_TRAIN = "cmp_to_train"  # the form's runs, trained by the next run of the page
CHOSEN = "cmp_chosen"  # the runs picked, kept across pages (the widget's own key is not)
DIAG_CHOSEN = "cmp_diag_chosen"  # the diagnostics' runs, kept across pages likewise
METRIC_HEADERS = {"train_loss": "train loss", "val_loss": "val loss", "steps_per_second": "steps/s"}
METRIC_FORMATS = {  # st.table, not st.dataframe: it wraps, so no header is ever cut
    "steps": "{:,}",
    "train loss": "{:.4f}",
    "val loss": "{:.4f}",
    "seconds": "{:.1f}",
    "steps/s": "{:,.0f}",
}
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
    given = str(ui.param(name, FORM[name])).split(",")
    picked = [v for v in given if v in options] or [FORM[name]]
    if dropped := [v for v in given if v not in options and name in st.query_params]:
        ui.note_dropped(name, dropped, picked)
    return picked


def _init_form() -> None:
    """Seed the form's widgets from the link (or this session's last values) once."""
    if "cmp_n_layers" in st.session_state:
        return
    for name in ("n_layers", "n_hidden", "steps", "batch_size", "lr", "seeds"):
        st.session_state[f"cmp_{name}"] = ui.param(name, FORM[name], bound=BOUND.get(name, name))
    st.session_state["cmp_batchnorm"] = ui.param("batchnorm", False)
    st.session_state["cmp_activations"] = _picked("activations", ACTIVATIONS)
    st.session_state["cmp_inits"] = _picked("inits", INITS)


def _form_fields() -> None:
    b = ui.bounds
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
        ui.set_params(s | {k: ",".join(s[k]) for k in ("activations", "inits")})
    base = RunConfig().replace(
        n_layers=s["n_layers"],
        n_hidden=s["n_hidden"],
        steps=s["steps"],
        batch_size=s["batch_size"],
        lr=s["lr"],
        batchnorm=s["batchnorm"],
    )
    seeds = range(ui.seed(), ui.seed() + s["seeds"])
    combos = itertools.product(s["activations"], s["inits"], seeds)
    return [base.replace(activation=a, init=i, seed=sd) for a, i, sd in combos]


def train_new(cfgs: list[RunConfig]) -> None:
    """Train the form's runs, select them, and draw the page again around them (notes on
    runs that did not finish survive that rerun)."""
    if not cfgs or len(cfgs) > MAX_NEW:
        st.error(f"Pick at least one activation and init, and at most {MAX_NEW} runs in all.")
        return
    ds = ui.current_dataset()
    outcomes = ui.train(cfgs, ds, _coming_names(cfgs, ds), PAGE)
    st.session_state["cmp_notes"] = [
        f"{tables.short_label(o.config)}: {o.status} at step {o.metrics['steps']:,}, not added"
        for o in outcomes
        if o.status != "ok"
    ] + ([note] if (note := ui.cache_note(outcomes)) else [])
    _select_also([run_key(o.config, ds.sha256) for o in outcomes if o.status == "ok"])
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
            st.caption(form_estimate(cfgs))
        allowed = 0 < len(cfgs) <= MAX_NEW
        if st.button("Train", type="primary", key="cmp_train", disabled=not allowed):
            # trained in a run of the whole page, not of this fragment: Streamlit queues a
            # fragment's reruns behind a running one, so a Stop pressed during a training
            # in here would wait for its end
            st.session_state[TO_TRAIN] = cfgs
            st.rerun()


def _select_also(keys: list[str]) -> None:
    chosen = st.session_state.get(CHOSEN, [])
    st.session_state[CHOSEN] = (chosen + [k for k in keys if k not in chosen])[-MAX_SHOWN:]


def _keep_choice() -> None:
    st.session_state[CHOSEN] = st.session_state["cmp_pick"]


def pick(runs: list[dict], shown: list[str]) -> list[int]:
    """The multiselect over the session's runs; returns the indices picked. The choice is
    kept under its own key (CHOSEN): Streamlit forgets a widget's value when a page that
    does not draw it runs, and a visitor who looks at another page comes back to it."""
    keys = [r["key"] for r in runs]
    if CHOSEN not in st.session_state:
        st.session_state[CHOSEN] = keys[-SHOWN_AT_FIRST:]
    st.session_state["cmp_pick"] = [k for k in st.session_state[CHOSEN] if k in keys]
    label = dict(zip(keys, shown))
    picked = st.multiselect(
        "Compare",
        keys,
        format_func=label.get,
        key="cmp_pick",
        on_change=_keep_choice,
        max_selections=MAX_SHOWN,
        help=f"At most {MAX_SHOWN} at once: each gets a colour of its own",
    )
    return [keys.index(k) for k in picked]


def reference_lines(runs: list[dict]) -> dict[str, float]:
    """The yardsticks of the runs' data; named by data set when runs use several."""
    by_data = {r["data"]: r["baselines"] for r in runs}
    if len(by_data) == 1:
        return next(iter(by_data.values()))
    return {f"{k} · {d}": v for d, b in by_data.items() for k, v in b.items()}


def slider_step(last: int) -> int:
    """A round step for a slider over 0..last: about 200 positions (1, 2 or 5 x 10^n)."""
    step = 1
    while step * 200 < last:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2
    return step


def step_range(last: int) -> tuple[int, int]:
    """The steps the loss chart shows; a slider of its own per longest run (a new set of
    runs opens on all of its steps)."""
    if last < 2:
        return 0, last
    return st.slider(
        "Steps shown",
        0,
        last,
        (0, last),
        step=slider_step(last),
        key=f"cmp_step_range_{last}",
        help="Zoom to a range of steps: the loss axis then fits the points in that range "
        "(a grey yardstick outside it is not drawn)",
    )


def compare(runs: list[dict], shown: list[str]) -> None:
    steps = [r["config"].train.steps for r in runs]
    curves = tables.curves(runs, shown)
    toggle, slider = st.columns([1, 3], vertical_alignment="center")
    log_steps = toggle.toggle(
        "Log step axis",
        value=max(steps) >= 20 * min(steps),  # a long run among short ones
        key="cmp_log_steps",
        help="Spreads the early steps, so short runs beside a long one stay readable",
    )
    last = charts.last_step(curves)
    with slider:
        lo, hi = step_range(last)
    shown_steps = None if (lo, hi) == (0, last) else (lo, hi)
    chart = charts.loss_curves(curves, reference_lines(runs), log_steps, shown_steps)
    st.altair_chart(chart, width="stretch")
    if shown_steps and not any(lo <= s <= hi for c in curves.values() for s in c["step"]):
        st.caption(f"No curve point lies between steps {lo:,} and {hi:,}: widen the range.")
    st.caption(
        "Solid: val (4,096 dev rows); dashed: train (minibatch losses, averaged between points)."
        " Grey: the data's yardsticks (see the Dataset page). Curves on top of each other:"
        " click a run in the legend below the chart to pick its curves out (shift-click:"
        " several), the others fade; double-click the chart to see every run again."
    )
    st.subheader("Metrics")
    metrics = tables.metrics(runs, shown).rename(columns=METRIC_HEADERS)
    formats = {md_escape(k): f for k, f in METRIC_FORMATS.items()}  # a visitor's text: text
    st.table(md_frame(metrics).style.format(formats, na_rep="—"))
    st.subheader("What differs")
    diff = tables.config_diff(runs, shown)
    if len(runs) < 2:
        st.caption("Pick two or more runs to see the settings that differ.")
    elif diff.empty:
        st.caption("Same settings and data: these are the same run.")
    else:
        st.table(md_frame(diff).style.hide(axis="index"))
    export(runs, shown)
    take_home.any_run(runs, shown, PAGE)
    diagnostics(runs, shown)


def diagnostics(runs: list[dict], shown: list[str]) -> None:
    """The lecture's plots for one or two of the picked runs, side by side."""
    st.subheader("The lecture's diagnostics")
    names = dict(zip(shown, runs))
    kept = st.session_state.get(DIAG_CHOSEN)
    default = [n for n in shown[-2:] if names[n]["metrics"].get("diagnostics")]
    st.session_state["cmp_diag"] = [n for n in kept if n in shown] if kept is not None else default
    chosen = st.multiselect(
        "Diagnostics of",
        shown,
        max_selections=2,
        key="cmp_diag",
        on_change=lambda: st.session_state.update({DIAG_CHOSEN: st.session_state["cmp_diag"]}),
        help="One run, or two side by side",
    )
    if chosen:
        runs_shown = {n: (names[n]["metrics"].get("diagnostics"), names[n]["key"]) for n in chosen}
        ui.diagnostics.side_by_side(runs_shown, key="cmp")


def export(runs: list[dict], shown: list[str]) -> None:
    c = st.columns(3)
    for col, (name, make, mime) in zip(
        c,
        [
            ("metrics.csv", tables.metrics_csv, "text/csv"),
            ("curves.csv", tables.curves_csv, "text/csv"),
            ("runs.json", tables.export_json, "application/json"),
        ],
    ):
        col.download_button(f"Download {name}", make(runs, shown), file_name=name, mime=mime)


opened_by_link = "cmp_n_layers" not in st.session_state and "n_layers" in st.query_params
_init_form()
if opened_by_link:  # a link whose runs are computed shows them at once; it never trains
    linked = form_configs(write_link=False)
    labels = [tables.short_label(c) for c in linked]
    ui.result_or_button(linked, ui.current_dataset(), labels, PAGE, button_label=None)
runs = ui.session_runs()
if not runs:
    st.info(
        "No runs yet in this session. Every run you train on any page (zero init, BatchNorm "
        "folding, or the form below) appears here, to overlay curves, compare final losses "
        "and see which settings differ. Runs are yours alone: another visitor never sees them."
    )
new_run_form(expanded=not runs)
if TO_TRAIN in st.session_state:
    train_new(st.session_state.pop(TO_TRAIN))
runs = ui.session_runs()
if runs:
    shown = tables.names(runs)
    idx = pick(runs, shown)
    if note := ui.runs_note():
        st.caption(note)
    with st.expander(f"All {len(runs)} runs of this session", expanded=not idx):
        st.table(
            md_frame(tables.run_list(runs, shown))
            .style.format({"val loss": "{:.4f}"}, na_rep="—")
            .hide()
        )
    if idx:
        compare([runs[i] for i in idx], [shown[i] for i in idx])
presets.lecture_runs(ui.current_dataset(), PAGE, on_trained=_select_also)
