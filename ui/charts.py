"""The charts of runs, built from plain data (a run's metrics dicts, the live curve of a
training, the fold's sampled logits), and what every chart of lines shares: the legend
pick, the step axis, the value axis. Pages and ui call these and only draw what they
return, so one colour scheme holds for every chart of runs: the live curve while a stack
trains and the final curves after it (RUN_COLORS). A run's layers: ui/layer_charts.py; a
data set: ui/data_charts.py; the init landscape: ui/landscape_charts.py."""

from __future__ import annotations

import altair as alt
import pandas as pd

from mlp_core.data import BASELINE_LABELS, CHART_BASELINES

from .run_colors import MAX_RUNS, RUN_PALETTE, palette_of, run_color  # noqa: F401

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


def fold_scatter(scatter: dict[str, list[float]]) -> alt.LayerChart:
    """Sampled dev logits, with BN against folded (FoldReport.scatter), over y = x."""
    x, y = "logit with BatchNorm", "logit folded"
    df = pd.DataFrame({x: scatter["bn"], y: scatter["folded"]})
    ends = pd.DataFrame({x: [df[x].min(), df[x].max()], y: [df[x].min(), df[x].max()]})
    points = alt.Chart(df).mark_circle(size=12, opacity=0.5).encode(x=x, y=y, tooltip=[x, y])
    diagonal = alt.Chart(ends).mark_line(color="gray", strokeDash=[4, 4]).encode(x=x, y=y)
    title = f"{len(df):,} sampled dev logits: on the diagonal y = x"
    return (diagonal + points).properties(height=320, title=title)
