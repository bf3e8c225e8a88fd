"""The compare page's comparison (pages/compare.py): the pick of the session's runs, their
loss curves with a step range, final metrics, the settings that differ, exports and the
lecture's diagnostics of one or two of them. Its form to train more: ui/compare_form.py."""

import streamlit as st

from . import charts, tables, take_home
from . import diagnostics as run_diagnostics
from .text import md_escape, md_frame

PAGE = "compare"
SHOWN_AT_FIRST = 6  # the newest runs selected when the page opens
MAX_SHOWN = charts.MAX_RUNS  # runs overlaid at once: no two share a colour
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


def select_also(keys: list[str]) -> None:
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
    """The yardsticks of the runs' data; named by data set when runs use several (one per
    data set: its content, not its name; two of one name are told apart by sha256)."""
    by_sha = {r.get("data_sha256") or r["data"]: r for r in runs}
    if len(by_sha) == 1:
        return next(iter(by_sha.values()))["baselines"]
    names = [r["data"] for r in by_sha.values()]
    out = {}
    for key, r in by_sha.items():
        name = r["data"] if names.count(r["data"]) == 1 else f"{r['data']} ({key[:8]})"
        out |= {f"{k} · {name}": v for k, v in r["baselines"].items()}
    return out


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
        "Solid: val (the loss on 4,096 dev rows, all of them on a smaller dev split); dashed:"
        " train (the mean minibatch loss over the steps since the previous point; at step 0"
        " the initial weights' loss on 4,096 training rows, or all)."
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
        run_diagnostics.side_by_side(runs_shown, key="cmp")


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
