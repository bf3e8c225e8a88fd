"""The lecture's diagnostics of one run (activation and gradient histograms per layer,
saturation, the update:data ratio and the spread between neurons over time), drawn from
its metrics["diagnostics"]: any page that shows a run can show them."""

from __future__ import annotations

import streamlit as st

from . import charts


def show_diagnostics(diag: dict | None, key: str) -> None:
    """The diagnostics of one run; key tells this run's step slider apart."""
    if not diag or not diag["hist_steps"]:
        st.info("No diagnostics were captured (the run stopped at once).")
        return
    steps = diag["hist_steps"]
    step = st.select_slider("Step", steps, value=steps[-1], key=f"hist_{key}")
    i, j = steps.index(step), diag["steps"].index(step)
    sat = {
        n: f"mean {r['mean'][j]:+.2f}, std {r['std'][j]:.2f}, "
        f"saturated {100 * r['saturation'][j]:.0f}%"
        for n, r in diag["activations"].items()
    }
    a, b = st.columns(2)
    a.altair_chart(charts.histograms(diag["act_hist"][i], "Activations", sat), width="stretch")
    b.altair_chart(charts.histograms(diag["grad_hist"][i], "Activation gradients"), width="stretch")
    a, b = st.columns(2)
    a.altair_chart(charts.histograms(diag["wgrad_hist"][i], "Weight gradients"), width="stretch")
    ratios = {n: v for n, v in diag["update_ratio"].items() if n.endswith("weight")}
    b.altair_chart(
        charts.over_time(
            diag["steps"], ratios, "Update : data ratio (log10)", "log10 ratio", rule=-3.0
        ),
        width="stretch",
    )
    st.altair_chart(
        charts.over_time(
            diag["steps"], diag["neuron_spread"], "Spread between neurons (0 = identical)", "spread"
        ),
        width="stretch",
    )
