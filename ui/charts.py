"""Every Altair chart of the app, built from plain data (a run's metrics dicts, the live
curve of a training, the data set's counts, the fold's sampled logits). Pages and ui call
these and only draw what they return, so one colour scheme holds for every chart of runs:
the live curve while a stack trains and the final curves after it (RUN_COLORS)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from mlp_core.data import BASELINE_LABELS, CHART_BASELINES

RUN_COLORS = "tableau10"  # runs side by side: ten distinct hues
LETTER_AXIS = {"labelAngle": 0, "labelOverlap": False, "labelFontSize": 12}  # every letter


def run_color(field: str = "run") -> alt.Color:
    """The colour of a run: tableau10, not Streamlit's theme, whose first two colours are
    both blue. Every chart that tells runs apart uses this."""
    return alt.Color(f"{field}:N", scale=alt.Scale(scheme=RUN_COLORS))


def live_curve(curve: dict, labels: list[str]) -> alt.Chart:
    """The minibatch losses of a stack while it trains (the core's Progress.curve: a step
    list and, per step, one loss per run), one line per run label."""
    rows = [
        {"step": s, "run": labels[k], "loss": v}
        for s, vals in zip(curve["step"], curve["train"])
        for k, v in enumerate(vals)
    ]
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_line(point=len(rows) <= 2 * len(labels))  # a lone point still shows
        .encode(
            x=alt.X("step:Q", axis=alt.Axis(format="~s")),
            y=alt.Y(
                "loss:Q",
                title="minibatch loss",
                scale=alt.Scale(zero=False),
                axis=alt.Axis(format=".2f"),
            ),
            color=run_color(),
        )
        .properties(height=220)
    )


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
            color=run_color(),
            strokeDash=alt.StrokeDash("split:N", sort=["val", "train"]),
            tooltip=["run", "split", "step", alt.Tooltip("loss:Q", format=".4f")],
        )
    )
    last = max((r["step"] for r in rows), default=1)
    base = pd.DataFrame(  # dev yardsticks: the val curves are dev losses
        [
            {"baseline": BASELINE_LABELS.get(k, k), "loss": v, "step": last}
            for k, v in baselines.items()
            if k in CHART_BASELINES or k not in BASELINE_LABELS
        ]
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


def word_lengths(lengths: list[tuple[int, int]]) -> alt.Chart:
    """Bars of (length, words), as data.stats gives them."""
    df = pd.DataFrame(lengths, columns=["length", "words"])
    return (
        alt.Chart(df, title="Word lengths")
        .mark_bar()
        .encode(
            x=alt.X("length:O", title="characters", axis=alt.Axis(labelAngle=0)),
            y="words:Q",
            tooltip=["length", "words"],
        )
        .properties(height=260)
    )


def char_counts(chars: list[tuple[str, int]]) -> alt.Chart:
    df = pd.DataFrame(chars, columns=["char", "count"])
    return (
        alt.Chart(df, title="Character frequencies")
        .mark_bar()
        .encode(
            x=alt.X("char:N", sort="-y", axis=alt.Axis(labelAngle=0, labelOverlap=False)),
            y="count:Q",
            tooltip=["char", "count"],
        )
        .properties(height=260)
    )


def bigram_heatmap(bigrams: list[tuple[str, str, int]], order: list[str]) -> alt.Chart:
    """Counts of (first, next) pairs; order: the axis order ('.' first, then the chars)."""
    df = pd.DataFrame(bigrams, columns=["first", "next", "count"])
    return (
        alt.Chart(df, title="Bigram counts: row = a character, column = the one after it")
        .mark_rect()
        .encode(
            x=alt.X("next:N", sort=order, axis=alt.Axis(orient="top", **LETTER_AXIS)),
            y=alt.Y("first:N", sort=order, axis=alt.Axis(**LETTER_AXIS)),
            color=alt.Color("count:Q", scale=alt.Scale(type="log", scheme="blues")),
            tooltip=["first", "next", "count"],
        )
        .properties(width=620, height=620)
    )


def fold_scatter(scatter: dict[str, list[float]]) -> alt.LayerChart:
    """Sampled dev logits, with BN against folded (FoldReport.scatter), over y = x."""
    x, y = "logit with BatchNorm", "logit folded"
    df = pd.DataFrame({x: scatter["bn"], y: scatter["folded"]})
    ends = pd.DataFrame({x: [df[x].min(), df[x].max()], y: [df[x].min(), df[x].max()]})
    points = alt.Chart(df).mark_circle(size=12, opacity=0.5).encode(x=x, y=y, tooltip=[x, y])
    diagonal = alt.Chart(ends).mark_line(color="gray", strokeDash=[4, 4]).encode(x=x, y=y)
    title = f"{len(df):,} sampled dev logits: on the diagonal y = x"
    return (diagonal + points).properties(height=320, title=title)
