"""Every Altair chart of the app, built from plain data (a run's metrics dicts, the live
curve of a training, the data set's counts, the fold's sampled logits). Pages and ui call
these and only draw what they return, so one colour scheme holds for every chart of runs:
the live curve while a stack trains and the final curves after it (RUN_COLORS)."""

from __future__ import annotations

import re

import altair as alt
import pandas as pd

from mlp_core.data import BASELINE_LABELS, CHART_BASELINES

from .run_colors import MAX_RUNS, RUN_PALETTE, palette_of, run_color  # noqa: F401

LETTER_AXIS = {"labelAngle": 0, "labelOverlap": False, "labelFontSize": 12}  # every letter
# A histogram's value axis: Vega's default prints a range of 1e-5 as 0.000010; "~g" prints
# 1e-5, -0.5, 0.02. Steps and counts keep the default (2,000; "~g" there gives 2e+3).
VALUE_AXIS = {"format": "~g"}
LEGEND = alt.Legend(labelLimit=0)  # whole labels: Vega cuts them at 160 px by default

# Many layers' (or runs') lines lie on top of each other: each line is a little transparent,
# and a click on a name in the legend picks that line out (shift-click: several), the
# others fading to FADED; a double-click on the chart shows every line again (Vega-Lite's
# point selection bound to the legend, in the browser: the page does not run again).
SHOWN, FADED = 0.85, 0.1
PICK_NOTE = (
    "Lines on top of each other: click a name in a chart's legend to pick its line out "
    "(shift-click: several), the others fade; double-click the chart to see every line again."
)


def legend_pick(field: str) -> tuple[alt.Parameter, dict]:
    """A selection of ``field``'s values bound to the chart's legend, and the opacity that
    fades the lines it leaves out (every line SHOWN while nothing is picked)."""
    pick = alt.selection_point(fields=[field], bind="legend", name=f"pick_{field}")
    return pick, alt.condition(pick, alt.value(SHOWN), alt.value(FADED))


# A step axis's ticks as a reader writes them: 0, 50, 100 below a thousand, then 1k, 1.5k,
# 200k, and 1M (Vega's "~s" gives every tick the largest one's prefix: 0k, 0.05k)
STEP_LABELS = (
    "abs(datum.value) >= 1e6 ? format(datum.value / 1e6, '~g') + 'M'"
    " : abs(datum.value) >= 1000 ? format(datum.value / 1000, '~g') + 'k'"
    " : format(datum.value, '~g')"
)
STEP_AXIS = alt.Axis(labelExpr=STEP_LABELS)


def layer_key(name: str) -> tuple:
    """Sort key of a layer or parameter name by its numbers: layers.2 before layers.10
    (as text, "layers.10" sorts before "layers.2")."""
    return tuple(int(n) if n.isdigit() else n for n in re.split(r"(\d+)", name))


def in_layer_order(names) -> list[str]:
    return sorted(names, key=layer_key)


def live_curve(curve: dict, labels: list[str]) -> alt.Chart:
    """The minibatch losses of a stack while it trains (the core's Progress.curve: a step
    list and, per step, one loss per run), one line per run label, in the colours the
    final chart gives the same labels in the same order."""
    rows = [
        {"step": s, "run": labels[k], "loss": v}
        for s, vals in zip(curve["step"], curve["train"])
        for k, v in enumerate(vals)
    ]
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_line(point=len(rows) <= 2 * len(labels))  # a lone point still shows
        .encode(
            x=alt.X("step:Q", axis=STEP_AXIS),
            y=alt.Y(
                "loss:Q",
                title="minibatch loss",
                scale=alt.Scale(zero=False),
                axis=alt.Axis(format=".2f"),
            ),
            color=run_color(labels),
        )
        .properties(height=runs_height(len(labels)))
    )


def _baseline_rows(baselines: dict[str, float], last: int) -> list[dict]:
    """One row per reference line drawn (the dev yardsticks, CHART_BASELINES: the val
    curves are dev losses), its label placed at the right end. Names "kind · data"
    (several data sets) put each data set's labels at its own distance from the right end,
    so two data sets' unigram labels, a few hundredths apart, do not print on each other."""
    groups: list[str] = []
    rows = []
    for key, loss in baselines.items():
        kind, _, data = key.partition(" · ")
        if kind in BASELINE_LABELS and kind not in CHART_BASELINES:
            continue
        if data not in groups:
            groups.append(data)
        name = BASELINE_LABELS.get(kind, kind) + (f" · {data}" if data else "")
        step = last * (1 - 0.3 * (groups.index(data) % 3))
        rows.append({"baseline": name, "loss": loss, "step": step})
    return rows


# A chart of runs shares its height with its legend below: the plot, its axes and the
# legend's title take RUNS_PLOT_PX (a plot about 220 px tall), each run's line of the
# legend LEGEND_LINE_PX more (a line with a point symbol takes 22)
RUNS_PLOT_PX = 340
LEGEND_LINE_PX = 24


def runs_height(n_runs: int) -> int:
    """The height of a chart of n runs with its legend below: the plot keeps its size."""
    return RUNS_PLOT_PX + LEGEND_LINE_PX * n_runs


STEP_SCALE = {False: alt.Undefined, True: alt.Scale(type="symlog", constant=10)}


def last_step(curves: dict[str, dict]) -> int:
    """The largest step of any curve (0 for none)."""
    return max((s for c in curves.values() for s in c["step"]), default=0)


def loss_curves(
    curves: dict[str, dict],
    baselines: dict[str, float],
    log_steps: bool = False,
    steps: tuple[int, int] | None = None,
) -> alt.LayerChart:
    """Train/val curves of several runs (name -> curve dict, colours in that order) over
    dashed baseline rules. A baseline named "kind · data" belongs to one of several data
    sets (see _baseline_rows). log_steps: a symlog step axis (0 included), so a 200k-step
    run does not squash 1k-step ones into the left edge. steps: (first, last) shown, the
    points outside left out, and the loss axis fits the points in that range (a yardstick
    outside it is not drawn)."""
    lo, hi = steps if steps is not None else (None, None)
    rows = [
        {"step": s, "run": run, "split": split, "loss": v}
        for run, c in curves.items()
        for split in ("train", "val")
        for s, v in zip(c["step"], c[split])
        if v is not None and v == v and (steps is None or lo <= s <= hi)
    ]
    scale = STEP_SCALE[log_steps]
    if steps is not None:
        kind = {"type": "symlog", "constant": 10} if log_steps else {}
        scale = alt.Scale(domain=[lo, hi], **kind)
    y_scale = alt.Scale(zero=False)
    if steps is not None and rows:  # the range's own losses, the yardsticks clipped
        low, high = min(r["loss"] for r in rows), max(r["loss"] for r in rows)
        pad = 0.05 * (high - low) or 0.01
        y_scale = alt.Scale(domain=[low - pad, high + pad], nice=False)
    pick, opacity = legend_pick("run")
    lines = (
        alt.Chart(pd.DataFrame(rows, columns=["step", "run", "split", "loss"]))
        .mark_line(clip=True)
        .encode(
            x=alt.X("step:Q", title="step", scale=scale, axis=STEP_AXIS),
            y=alt.Y("loss:Q", title="loss (nats)", scale=y_scale),
            color=run_color(list(curves)),
            strokeDash=alt.StrokeDash("split:N", sort=["val", "train"]),
            opacity=opacity,
            tooltip=["run:N", "split:N", "step:Q", alt.Tooltip("loss:Q", format=".4f")],
        )
        .add_params(pick)
    )
    last = hi if steps is not None else max((r["step"] for r in rows), default=1)
    base = pd.DataFrame(_baseline_rows(baselines, last), columns=["baseline", "loss", "step"])
    rules = (
        alt.Chart(base)
        .mark_rule(strokeDash=[2, 4], color="gray", clip=True)
        .encode(y="loss:Q", tooltip=["baseline:N", alt.Tooltip("loss:Q", format=".4f")])
    )
    labels = (
        alt.Chart(base)
        .mark_text(align="right", dx=-4, dy=-6, color="gray", fontSize=11, clip=True)
        .encode(x="step:Q", y="loss:Q", text="baseline:N")
    )
    # the legend below shares the chart's height: each run's line adds its own room
    return (lines + rules + labels).properties(height=runs_height(len(curves)))


def all_zero(hists: dict[str, dict]) -> bool:
    """Every value of every histogram exactly 0 (the core's histogram then spans +-1e-12)."""
    return all(h["hi"] - h["lo"] <= 2e-12 for h in hists.values())


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
    "log10(std(lr·grad) / std(weight)) is undefined for a weight whose entries are all equal "
    "(std 0: a zero-init weight that never moves stays all 0) or whose gradient is all 0, "
    "and NaN once a run diverges"
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
        alt.Chart(df, title=["Bigram counts", "row: a character · column: the one after it"])
        .mark_rect()
        .encode(
            x=alt.X("next:N", sort=order, axis=alt.Axis(orient="top", **LETTER_AXIS)),
            y=alt.Y("first:N", sort=order, axis=alt.Axis(**LETTER_AXIS)),
            color=alt.Color(
                "count:Q",
                scale=alt.Scale(type="log", scheme="blues"),
                legend=alt.Legend(orient="bottom"),  # below: the map keeps a phone's width
            ),
            tooltip=["first", "next", "count"],
        )
        .properties(height=620)  # as wide as its column: a phone's screen holds it
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
