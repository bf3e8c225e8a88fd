"""The lecture's diagnostics of one run, or two side by side: activation and gradient
histograms per layer with each layer's saturation, weight-gradient histograms, the
update:data ratio over time and the spread between neurons. Drawn from a run's
``metrics["diagnostics"]`` (the core's Recorder.result), so any page can show them for any
run: the zero-init page for its two runs, the compare page for the runs a visitor picks."""

from __future__ import annotations

import streamlit as st

from mlp_core.run_text import share

from . import charts, layer_charts, tables

SPREAD_NOTE = (
    "Spread between neurons: how far the most different neuron's weight column lies from "
    "the layer's mean column, over the largest column's length (a ratio, no unit): 0 when "
    "every neuron of the layer is the same."
)
SATURATION_NOTE = (
    "Saturated: tanh outputs beyond ±0.97 or sigmoid outputs outside 0.03–0.97, where the "
    "slope is nearly 0; for ReLU the share of dead outputs (exactly 0, no gradient through "
    "them)."
)


def _step(diag: dict, key: str, where) -> int:
    """The captured step whose histograms to show: the last by default."""
    steps = diag["hist_steps"]
    last = steps[-1]
    return where.select_slider(
        "Step",
        steps,
        value=last,
        key=key,
        format_func=lambda s: f"{s:,}" + (" (last)" if s == last else ""),
        help="Histograms are kept at a few steps, the last step of the run included",
    )


def _items(diag: dict, step: int) -> list[tuple]:
    """(kind, chart or table, caption) in reading order; kind "chart" or "table"."""
    i, j = diag["hist_steps"].index(step), diag["steps"].index(step)
    sat = {
        n: f"mean {a['mean'][j]:+.2f}, std {a['std'][j]:.2f}, "
        f"{tables.SATURATED_WORD.get(n.split('(')[-1].rstrip(')'), 'saturated')} "
        f"{share(a['saturation'][j])}"
        for n, a in diag["activations"].items()
    }
    ratio, why = layer_charts.update_ratio(diag["steps"], diag["update_ratio"])
    spread = layer_charts.over_time(
        diag["steps"],
        diag["neuron_spread"],
        "Spread between neurons (0 = all identical)",
        "spread",
    )
    return [
        ("chart", layer_charts.histograms(diag["act_hist"][i], "Activations", sat), None),
        (
            "table",
            tables.saturation(diag, step),
            "Each activation layer at this step. " + SATURATION_NOTE,
        ),
        ("chart", layer_charts.histograms(diag["grad_hist"][i], "Activation gradients"), None),
        ("chart", layer_charts.histograms(diag["wgrad_hist"][i], "Weight gradients"), None),
        ("chart", ratio, why),
        ("chart", spread, SPREAD_NOTE),
    ]


@st.cache_data(max_entries=64, show_spinner=False)
def _specs(run_key: str, step: int, _diag: dict) -> list[tuple]:
    """_items with each chart as its Vega-Lite dict, kept per (run, step): building them
    costs a few tenths of a second a run, and the compare page redraws at every widget
    change. run_key (the run's content hash) stands for the unhashable diagnostics."""
    return [
        (kind, item.to_dict() if kind == "chart" else item, caption)
        for kind, item, caption in _items(_diag, step)
    ]


def show(diag: dict | None, key: str, where=st, run_key: str | None = None) -> None:
    """One run's diagnostics, one item under the other (fits a half-width column).
    run_key (the run's content hash, when there is one) keeps the charts built."""
    if not diag or not diag["hist_steps"]:
        where.info("No diagnostics were kept for this run (it stopped at once).")
        return
    step = _step(diag, f"diag_step_{key}", where)
    if run_key:
        items = _specs(run_key, step, diag)
    else:
        items = [(k, i.to_dict() if k == "chart" else i, c) for k, i, c in _items(diag, step)]
    for kind, item, caption in items:
        if kind == "chart":
            where.vega_lite_chart(item, width="stretch")
        else:
            where.table(item.style.hide())
        if caption:
            where.caption(caption)


def side_by_side(runs: dict[str, tuple], key: str) -> None:
    """Runs' diagnostics in columns (two fit at 1400 px), each run's name above it, as
    text: a name may hold an uploaded file's name. runs: name -> (diagnostics, run key
    or None)."""
    st.caption(charts.PICK_NOTE)
    for n, (col, (name, (diag, run_key))) in enumerate(zip(st.columns(len(runs)), runs.items())):
        col.text(name)
        show(diag, f"{key}_{n}", where=col, run_key=run_key)
