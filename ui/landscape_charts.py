"""The init landscape's heatmaps (pages/landscape.py): init scale on a log axis x depth,
coloured at init by the lecture's diagnostics and after training by the dev loss on the
data's ladder, a tooltip per cell and a click that selects it ("cell")."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from mlp_core import landscape as L
from mlp_core.data import Dataset, baselines
from mlp_core.regime import ladder
from mlp_core.run_text import plural, share

INIT_METRICS = {  # the at-init view's colour: label, value of a cell, log scale
    "std": ("activation std, last layer", lambda c: c["act_std"][-1], True),
    "saturated": ("saturated or dead units, worst layer", lambda c: max(_sat(c)), False),
    "ratio": ("gradient std, first / last layer", lambda c: c["grad_ratio"], True),
}


def _sat(cell: dict) -> list[float]:
    return cell.get("saturated") or cell.get("dead") or [0.0]


def scale_label(scale: float) -> str:
    return "0 (zero init)" if scale == 0 else f"{scale:g}×"


# ---------------------------------------------------------------- the heatmap


# The x axis: log10 of the scale, the true distances between scales, a tick at each; a
# cell spans from halfway to its left neighbour to halfway to its right one (the outer
# cells as wide on both sides), its number written in its middle. The zero-init column has
# no logarithm: it stands apart, left of a gap and a dashed line.
ZERO_GAP = 0.35  # log10 units between the zero column and the 0.01x cell's left edge
ZERO_WIDTH = 0.45  # the zero column's width, log10 units


def _columns(scales=L.SCALES) -> dict[float, tuple[float, float, float]]:
    """scale -> (left, centre, right) on the x axis, in log10 units."""
    logs = [math.log10(s) for s in scales if s > 0]
    mids = [(a + b) / 2 for a, b in zip(logs, logs[1:])]
    lefts = [2 * logs[0] - mids[0], *mids]
    rights = [*mids, 2 * logs[-1] - mids[-1]]
    out = {
        s: (lo, c, hi) for s, lo, c, hi in zip([s for s in scales if s > 0], lefts, logs, rights)
    }
    right = lefts[0] - ZERO_GAP
    out[0.0] = (right - ZERO_WIDTH, right - ZERO_WIDTH / 2, right)
    return out


COLUMNS = _columns()


def heatmap(rows: list[dict], title: str, legend: str, scale: alt.Scale) -> alt.LayerChart:
    """Cells (depth, scale, color, text, ink, tooltip fields) on a log axis of the scale,
    the zero-init column set apart on its left: grey where a cell has no colour (zero std,
    not trained), its value written in it; a click selects one ("cell")."""
    tips = list(rows[0]["tips"]) if rows else []
    df = pd.DataFrame([{k: v for k, v in r.items() if k != "tips"} | r["tips"] for r in rows])
    lo, hi = COLUMNS[0.0][0], max(right for _, _, right in COLUMNS.values())
    ticks = sorted(c for _, c, _ in COLUMNS.values())
    names = " : ".join(
        f"abs(datum.value - {c}) < 1e-6 ? '{scale_label(s)}'" for s, (_, c, _) in COLUMNS.items()
    )
    axis = alt.Axis(
        values=ticks, labelExpr=f"{names} : ''", labelAngle=0, grid=False, labelOverlap=False
    )
    x = alt.X("x0:Q", title="init scale × the activation's kaiming gain (log axis)", axis=axis)
    x = x.scale(domain=[lo, hi], nice=False, zero=False)
    y = alt.Y("depth:O", title="hidden layers", sort="ascending")
    tooltip = [alt.Tooltip(f"{k}:N") for k in tips]
    base = alt.Chart(df).encode(y=y, tooltip=tooltip)
    pick = alt.selection_point(name="cell", fields=["depth", "scale"], on="click")
    rect = base.encode(x=x, x2="x1:Q")
    grey = rect.mark_rect(stroke="white", strokeWidth=2, color="#e9e9ee").add_params(pick)
    hue = alt.Color("color:Q", scale=scale, title=legend, legend=alt.Legend(titleLimit=260))
    colored = (
        rect.transform_filter("isValid(datum.color)")
        .mark_rect(stroke="white", strokeWidth=2)
        .encode(color=hue)
    )
    ink = alt.condition("datum.ink == 'white'", alt.value("white"), alt.value("black"))
    text = base.mark_text(fontSize=10).encode(
        x=alt.X("mid:Q").scale(domain=[lo, hi]), text="text:N", color=ink
    )
    gap = alt.Chart(pd.DataFrame({"x": [COLUMNS[0.0][2] + ZERO_GAP / 2]}))
    rule = gap.mark_rule(strokeDash=[4, 4], color="#999").encode(
        x=alt.X("x:Q").scale(domain=[lo, hi])
    )
    height = 44 * max(1, df["depth"].nunique()) if rows else 44
    return (grey + colored + text + rule).properties(title=title, height=height)


def _ink(value: float | None, domain: list[float], diverging: bool) -> str:
    """White text on the dark ends of the colour scale, else black."""
    if value is None:
        return "black"
    t = (min(max(value, domain[0]), domain[-1]) - domain[0]) / (domain[-1] - domain[0])
    return "white" if t < 0.3 or (diverging and t > 0.85) else "black"


def init_chart(cells: list[dict], metric: str) -> alt.LayerChart:
    label, value, log = INIT_METRICS[metric]
    diverging = metric == "ratio"
    domain = [-4, 4] if diverging else [-4, 1] if log else [0, 1]
    rows = [_init_row(c, value(c), log) for c in cells]
    for r in rows:
        r["ink"] = _ink(r["color"], domain, diverging)
    scheme = "redyellowblue" if diverging else "viridis"
    scale = alt.Scale(scheme=scheme, domain=domain, clamp=True)
    return heatmap(rows, f"At init: {label}", f"log10 {label}" if log else label, scale)


def _init_row(c: dict, v: float | None, log: bool) -> dict:
    ok = v is not None and v > 0 and math.isfinite(v)
    color = (math.log10(v) if log else v) if ok else (None if log else v)
    sat = "dead units" if "dead" in c else "saturated"
    return _row(c) | {
        "color": color,
        "text": "–" if v is None else f"{v:.2g}",
        "tips": _tips(c)
        | {
            "loss at init": f"{c['loss']:.4f}",
            "activation std per layer": _list(c["act_std"]),
            f"{sat} per layer": ", ".join(share(s) for s in _sat(c)),
            "gradient std per layer": _list(c["grad_std"]),
            "gradient first / last": "no gradient"
            if c["grad_ratio"] is None
            else f"{c['grad_ratio']:.3g}",
        },
    }


LADDER_BELOW = 0.15  # nats below the best rung where the colour reaches its darkest blue
LADDER_RANGE = ("#313695", "#4575b4", "#ffffbf", "#a50026")  # darkest, best, middle, worst


def ladder_colors(ds: Dataset, block_size: int = 3) -> tuple[list[float], list[str], str]:
    """The trained view's colour scale from the data's own ladder (regime.ladder: the
    rungs sorted by their dev loss, worst first, whatever their order on this data):
    red at and above the worst rung, yellow at the middle one, blue at the best and
    darkest LADDER_BELOW nats below it. Returns the domain (ascending), its colours, and
    the caption's sentence naming the rungs in that order. Rungs of the same loss share
    one colour stop."""
    stops: list[tuple[float, list[str]]] = []  # best first
    for name, v in reversed(ladder(baselines(ds, block_size))):
        if stops and stops[-1][0] == v:
            stops[-1][1].append(name)
        else:
            stops.append((v, [name]))
    colours = (LADDER_RANGE[1], LADDER_RANGE[2], LADDER_RANGE[3])
    if len(stops) == 2:
        colours = (LADDER_RANGE[1], LADDER_RANGE[3])
    elif len(stops) == 1:
        colours = (LADDER_RANGE[3],)
    domain = [stops[0][0] - LADDER_BELOW] + [v for v, _ in stops]
    rng = [LADDER_RANGE[0], *colours]
    said = {LADDER_RANGE[1]: "blue at", LADDER_RANGE[2]: "yellow at"}
    words = []
    for (v, names), colour in zip(stops, colours):
        rung = f"{' and '.join(names)} ({v:.4f})"
        words.append(f"{said.get(colour, 'red at and above')} {rung}")
    text = ", ".join(reversed(words)) + f", darkest blue {LADDER_BELOW} nats below the best"
    return domain, rng, text


def trained_chart(cells: list[dict], ds: Dataset, steps: int) -> alt.LayerChart:
    """Dev loss, coloured on the data's own ladder (ladder_colors)."""
    domain, rng, _ = ladder_colors(ds)
    rows = [_trained_row(c) for c in cells]
    worst = domain[-1]
    for r in rows:
        v = r["color"]
        dark = v is not None and (v > worst - 0.1 or v <= domain[1])  # dark red, blue
        r["ink"] = "white" if dark else "black"
    scale = alt.Scale(domain=domain, range=rng, clamp=True, interpolate="lab")
    title = f"After {plural(steps, 'step')}: dev loss"
    return heatmap(rows, title, "dev loss (nats)", scale)


def _trained_row(c: dict) -> dict:
    if c.get("pending"):
        tips = {"dev loss": "not trained yet", "curve": "—", "run": "—"}
        return _row(c) | {"color": None, "text": "…", "tips": _tips(c) | tips}
    run = c["status"] if c["diverged_at"] is None else f"diverged at step {c['diverged_at']:,}"
    tips = {"dev loss": c["place"], "curve": c["regime"] or "—", "run": run}
    if "trains" in c:
        tips["run"] += "; trains: " + (", ".join(c["trains"]) or "none")
        if c.get("too_small"):
            tips["run"] += "; exact gradient too small to move it in float32: "
            tips["run"] += ", ".join(c["too_small"])
        if c.get("roundoff"):
            tips["run"] += "; moved by round-off only: " + ", ".join(c["roundoff"])
    text = f"{c['val_loss']:.3f}" if c["val_loss"] is not None else c["status"]
    return _row(c) | {"color": c["val_loss"], "text": text, "tips": _tips(c) | tips}


def _row(c: dict) -> dict:
    left, _, right = COLUMNS[c["scale"]]
    mid = (left + right) / 2
    return {"depth": c["depth"], "scale": c["scale"], "x0": left, "mid": mid, "x1": right}


def _tips(c: dict) -> dict:
    init = "zero init" if c["init"] == "zeros" else f"kaiming, gain {c['gain']:.4g}"
    cell = f"{plural(c['depth'], 'hidden layer')}, {scale_label(c['scale'])}"
    return {"cell": cell, "init": init}


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.3g}" for v in values)
