"""Altair charts of the lecture's diagnostics, built from a run's plain metrics dicts."""

from __future__ import annotations

import altair as alt
import pandas as pd

RUN_COLORS = "tableau10"  # runs side by side: ten distinct hues


def loss_curves(curves: dict[str, dict], baselines: dict[str, float]) -> alt.LayerChart:
    """Train/val curves of several runs (name -> curve dict) over dashed baseline rules."""
    rows = [
        {"step": s, "run": run, "split": split, "loss": v}
        for run, c in curves.items()
        for split in ("train", "val")
        for s, v in zip(c["step"], c[split])
        if v is not None and v == v
    ]
    lines = (
        alt.Chart(pd.DataFrame(rows))
        .mark_line()
        .encode(
            x=alt.X("step:Q", title="step"),
            y=alt.Y("loss:Q", title="loss (nats)", scale=alt.Scale(zero=False)),
            # tableau10, not Streamlit's theme, whose first two colours are both blue
            color=alt.Color("run:N", scale=alt.Scale(scheme=RUN_COLORS)),
            strokeDash=alt.StrokeDash("split:N", sort=["val", "train"]),
            tooltip=["run", "split", "step", alt.Tooltip("loss:Q", format=".4f")],
        )
    )
    last = max((r["step"] for r in rows), default=1)
    names = {"uniform": "uniform", "unigram_entropy": "unigram", "bigram": "bigram"}
    base = pd.DataFrame(
        [{"baseline": names.get(k, k), "loss": v, "step": last} for k, v in baselines.items()]
    )
    rules = (
        alt.Chart(base)
        .mark_rule(strokeDash=[2, 4], color="gray")
        .encode(y="loss:Q", tooltip=["baseline", alt.Tooltip("loss:Q", format=".4f")])
    )
    labels = (
        alt.Chart(base)
        .mark_text(align="right", dy=-6, color="gray", fontSize=11)
        .encode(x="step:Q", y="loss:Q", text="baseline:N")
    )
    return (lines + rules + labels).properties(height=320)


def histograms(hists: dict[str, dict], title: str, extra: dict[str, str] | None = None):
    """One line per layer: counts over bin centres, like the lecture's plots."""
    rows = []
    for name, h in hists.items():
        n = len(h["counts"])
        width = (h["hi"] - h["lo"]) / n
        label = name + (f" · {extra[name]}" if extra and name in extra else "")
        rows += [
            {"x": h["lo"] + (i + 0.5) * width, "count": c, "layer": label}
            for i, c in enumerate(h["counts"])
        ]
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_line(interpolate="step")
        .encode(
            x=alt.X("x:Q", title="value"),
            y="count:Q",
            color="layer:N",
            tooltip=["layer", alt.Tooltip("x:Q", format=".3g"), "count"],
        )
        .properties(height=220, title=title)
    )


def over_time(
    steps: list[int], series: dict[str, list], title: str, y: str, rule: float | None = None
):
    """Lines of a per-parameter (or per-layer) quantity against the step."""
    rows = [
        {"step": s, "name": name, "value": v}
        for name, vals in series.items()
        for s, v in zip(steps, vals)
        if v is not None
    ]
    if not rows:
        rows = [{"step": 0, "name": "(no finite values)", "value": 0.0}]
    chart = (
        alt.Chart(pd.DataFrame(rows))
        .mark_line()
        .encode(
            x="step:Q",
            y=alt.Y("value:Q", title=y, axis=alt.Axis(format="~g")),
            color="name:N",
            tooltip=["name", "step", alt.Tooltip("value:Q", format=".3g")],
        )
    )
    if rule is not None:
        chart += (
            alt.Chart(pd.DataFrame({"value": [rule]}))
            .mark_rule(strokeDash=[4, 4], color="gray")
            .encode(y="value:Q")
        )
    return chart.properties(height=240, title=title)
