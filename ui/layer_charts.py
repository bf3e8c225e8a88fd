"""The charts of a run's layers and parameters (the lecture's diagnostics): histograms of
activations and gradients, quantities over the steps, the update:data ratio; and the order
of layer names (layers.2 before layers.10). The legend pick and the axes they share with
the charts of runs: ui/charts.py."""

from __future__ import annotations

import re

import altair as alt
import pandas as pd

from .charts import LEGEND, STEP_AXIS, VALUE_AXIS, legend_pick


def layer_key(name: str) -> tuple:
    """Sort key of a layer or parameter name by its numbers: layers.2 before layers.10
    (as text, "layers.10" sorts before "layers.2")."""
    return tuple(int(n) if n.isdigit() else n for n in re.split(r"(\d+)", name))


def in_layer_order(names) -> list[str]:
    return sorted(names, key=layer_key)


def all_zero(hists: dict[str, dict]) -> bool:
    """Every value of every histogram exactly 0: the core's histogram spans exactly
    +-1e-12 then, and only then (a float32 value's magnitude is never exactly 1e-12), and
    none is NaN or infinite."""
    return all(
        h["lo"] == -1e-12 and h["hi"] == 1e-12 and not h.get("nonfinite") for h in hists.values()
    )


def histograms(hists: dict[str, dict], title: str, extra: dict[str, str] | None = None):
    """One line per layer, counts over bin centres, like the lecture's plots; the legend in
    layer order. extra (layer -> text, e.g. its saturation) goes in the tooltip, whole: a
    legend label would cut it. Readable ticks (1e-5, not 0.000010); when every value is exactly 0
    the title says so and the axis spans -1 to 1."""
    rows = []
    for name, h in hists.items():
        n = len(h["counts"])
        width = (h["hi"] - h["lo"]) / n
        note = (extra or {}).get(name, "")
        rows += [
            {"x": h["lo"] + (i + 0.5) * width, "count": c, "layer": name, "stats": note}
            for i, c in enumerate(h["counts"])
        ]
    tooltip = ["layer", alt.Tooltip("x:Q", format=".3g"), "count"]
    if extra:
        tooltip.append("stats")
    scale = alt.Undefined
    if hists and all_zero(hists):  # a spike at 0 on a readable axis, not one 1e-12 wide
        title += " (every value exactly 0)"
        scale = alt.Scale(domain=[-1, 1])
    pick, opacity = legend_pick("layer")
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_line(interpolate="step")
        .encode(
            x=alt.X("x:Q", title="value", axis=alt.Axis(**VALUE_AXIS), scale=scale),
            y="count:Q",
            color=alt.Color("layer:N", sort=in_layer_order(hists), legend=LEGEND),
            opacity=opacity,
            tooltip=tooltip,
        )
        .add_params(pick)
        .properties(height=220, title=title)
    )


def undefined(series: dict[str, list]) -> list[str]:
    """The names whose series has no finite value at all, in layer order."""
    return in_layer_order(
        n for n, vals in series.items() if not any(v is not None and v == v for v in vals)
    )


def over_time(
    steps: list[int], series: dict[str, list], title: str, y: str, rule: float | None = None
) -> alt.LayerChart | alt.Chart:
    """Lines of a per-parameter (or per-layer) quantity against the step, legend in layer
    order. A series with no finite value is left out (undefined() names them, for the
    caption); when nothing is left, a chart that says so in words instead of an empty
    frame with a placeholder legend."""
    keep = [n for n in in_layer_order(series) if n not in undefined(series)]
    rows = [
        {"step": s, "name": name, "value": v}
        for name in keep
        for s, v in zip(steps, series[name])
        if v is not None and v == v
    ]
    if not rows:
        return _no_values(title)
    pick, opacity = legend_pick("name")
    chart = (
        alt.Chart(pd.DataFrame(rows))
        .mark_line()
        .encode(
            x=alt.X("step:Q", axis=STEP_AXIS),
            y=alt.Y("value:Q", title=y, axis=alt.Axis(**VALUE_AXIS)),
            color=alt.Color("name:N", sort=keep, legend=LEGEND),
            opacity=opacity,
            tooltip=["name", "step", alt.Tooltip("value:Q", format=".3g")],
        )
        .add_params(pick)
    )
    if rule is not None:
        chart += (
            alt.Chart(pd.DataFrame({"value": [rule]}))
            .mark_rule(strokeDash=[4, 4], color="gray")
            .encode(y="value:Q")
        )
    return chart.properties(height=240, title=title)


def _no_values(title: str) -> alt.Chart:
    words = pd.DataFrame({"text": ["no finite value at any captured step"]})
    return (
        alt.Chart(words)
        .mark_text(color="gray", fontSize=13)
        .encode(text="text:N")
        .properties(height=240, title=title)
    )


UPDATE_RATIO_WHY = (
    "log10(std(lr·grad) / std(weight)) is undefined for a weight of a single entry (no std), "
    "for one whose entries are all equal (std 0: a zero-init weight that never moves stays "
    "all 0) or whose gradient is all 0, and NaN once a run diverges"
)


def update_ratio(steps: list[int], ratios: dict[str, list]) -> tuple:
    """The update:data chart of the weights (the core's update_ratio: name -> log10 ratio
    per capture, None where undefined) and a caption naming every weight left out because
    its ratio was never defined, and why (None when every weight has one)."""
    weights = {n: v for n, v in ratios.items() if n.endswith("weight")}
    chart = over_time(steps, weights, "Update : data ratio (log10)", "log10 ratio", rule=-3.0)
    gone = undefined(weights)
    note = None
    if gone:
        note = (
            f"No ratio for {', '.join(gone)} ({len(gone)} of {len(weights)} weights) at any "
            f"captured step: {UPDATE_RATIO_WHY}. The dashed line is the lecture's 1e-3."
        )
    return chart, note
