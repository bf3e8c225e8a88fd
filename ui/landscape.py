"""The init landscape's Streamlit side (pages/landscape.py): the heatmap, the cells known
so far, the sweep with live filling and Stop, and a click's way to Zero init or Compare.

Cells trained here go through the core's store.get_or_train like any run (hosted, with
the app's scheduler: fair turns, reservations); they are remembered in this session as cell
dicts (run key -> landscape.trained_cell), not in the session's run list, which would
fill Compare with 72 runs: a cell joins that list when a click opens it on Compare. A
diverged cell, which the store never keeps, is known to this session only."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd
import streamlit as st

from hosting import cost
from hosting.schedule import SCHEDULER
from hosting.turns import Place
from mlp_core import landscape as L
from mlp_core.data import Dataset, baselines
from mlp_core.store import run_key

from . import settings, tables, training
from .settings import BOUNDS, check_caps

CELLS = "ls_cells"  # session key: run key -> trained cell
STOPPED = "ls_stopped"  # session key: the sweep a visitor stopped, for the note after it
BUDGET = "ls_budget"  # session key: the demo budget's note on the last press (kind, text)
CHOSEN = "cmp_chosen"  # pages/compare.py's picked runs (a cell opened there joins them)
ZERO_INIT_MAX_GAIN = BOUNDS["compare_gain"][1]  # Zero init's largest comparison gain
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
            f"{sat} per layer": ", ".join(f"{s:.0%}" for s in _sat(c)),
            "gradient std per layer": _list(c["grad_std"]),
            "gradient first / last": "no gradient"
            if c["grad_ratio"] is None
            else f"{c['grad_ratio']:.3g}",
        },
    }


def trained_chart(cells: list[dict], ds: Dataset, steps: int) -> alt.LayerChart:
    """Dev loss, coloured on the data's ladder: blue below the unigram model, red above."""
    b = baselines(ds)
    rows = [_trained_row(c) for c in cells]
    domain = [b["dev_bigram"] - 0.15, b["dev_unigram"], b["uniform"]]
    for r in rows:
        r["ink"] = (
            "white" if r["color"] is not None and r["color"] > b["uniform"] - 0.1 else "black"
        )
    scale = alt.Scale(scheme="redyellowblue", reverse=True, domain=domain, clamp=True)
    return heatmap(rows, f"After {steps:,} steps: dev loss", "dev loss (nats)", scale)


def _trained_row(c: dict) -> dict:
    if c.get("pending"):
        tips = {"dev loss": "not trained yet", "curve": "—", "run": "—"}
        return _row(c) | {"color": None, "text": "…", "tips": _tips(c) | tips}
    run = c["status"] if c["diverged_at"] is None else f"diverged at step {c['diverged_at']:,}"
    tips = {"dev loss": c["place"], "curve": c["regime"] or "—", "run": run}
    if "trains" in c:
        tips["run"] += "; exact gradients: " + (", ".join(c["trains"]) or "none")
    text = f"{c['val_loss']:.3f}" if c["val_loss"] is not None else c["status"]
    return _row(c) | {"color": c["val_loss"], "text": text, "tips": _tips(c) | tips}


def _row(c: dict) -> dict:
    left, _, right = COLUMNS[c["scale"]]
    mid = (left + right) / 2
    return {"depth": c["depth"], "scale": c["scale"], "x0": left, "mid": mid, "x1": right}


def _tips(c: dict) -> dict:
    init = "zero init" if c["init"] == "zeros" else f"kaiming, gain {c['gain']:.4g}"
    return {"cell": f"{c['depth']} hidden layers, {scale_label(c['scale'])}", "init": init}


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.3g}" for v in values)


# ---------------------------------------------------------------- cells and the sweep


def known_cells(base, ds: Dataset, depths) -> dict:
    """(depth, scale) -> trained cell, from this session or the store, else a pending one."""
    mem = st.session_state.setdefault(CELLS, {})
    store, rungs, out = training.run_store(), baselines(ds, base.data.block_size), {}
    for depth in depths:
        for scale, cfg in zip(L.SCALES, L.depth_configs(base, depth)):
            key = run_key(cfg, ds.sha256)
            if key not in mem and (o := store.get(cfg, ds.sha256)) is not None:
                mem[key] = L.trained_cell(depth, scale, o, ds, rungs)
            out[depth, scale] = mem.get(key) or L.cell_head(depth, scale, cfg) | {"pending": True}
    return out


def sweep(base, ds: Dataset, depths, draw) -> None:
    """Train the depths' missing cells, one stack per depth, drawing the grid again as each
    stack is done (draw(cells)); a progress bar and one Stop button meanwhile."""
    for depth in depths:
        for cfg in L.depth_configs(base, depth):
            check_caps(cfg)
    depths = within_budget(base, ds, depths)
    if not depths:
        return
    stop = st.empty()
    stop.button("Stop", key="stop-landscape", on_click=_stop, help="Cells already done stay")
    bar = st.progress(0.0, text="Starting…")
    order = {d: i for i, d in enumerate(depths)}

    def on_progress(depth: int, p) -> None:
        done = (order[depth] + p.step / p.steps) / len(depths)
        text = f"{depth} hidden layers ({order[depth] + 1} of {len(depths)}): step {p.step:,}"
        bar.progress(done, text=f"{text} of {p.steps:,} · {p.seconds:.1f} s")

    def on_wait(place: Place) -> None:
        bar.progress(0.0, text=training.waiting_text(place))

    mem = st.session_state.setdefault(CELLS, {})
    schedule = {"scheduler": SCHEDULER, "on_wait": on_wait, "visitor": training.visitor()}
    for row in L.sweep(base, ds, training.run_store(), depths, on_progress=on_progress, **schedule):
        mem.update({c["key"]: c for c in row if c["status"] != "stopped"})  # diverged: never stored
        draw()
    stop.empty()
    bar.empty()


def within_budget(base, ds: Dataset, depths) -> list:
    """In demo mode, the depths (shallowest first) whose missing cells fit the demo's
    budget per submission together (hosting/cost.py's estimate, as every form's); the
    rest wait for the next press, and the note after the press says so with the estimates.
    None fitting: nothing trains, and the note says why."""
    if not settings.demo_mode():
        return list(depths)
    mem = st.session_state.get(CELLS, {})
    todo = [
        [c for c in L.depth_configs(base, d) if run_key(c, ds.sha256) not in mem] for d in depths
    ]
    budget = settings.DEMO_BUDGET_S
    fit = cost.fitting(todo, budget)
    if fit == len(depths):
        return list(depths)
    allows = f"the demo allows {budget} s of computing per submission"
    if fit == 0:
        need = cost.cpu_seconds(todo[0])
        text = (
            f"Not trained: the stack of {depths[0]} hidden layers would take about {need:,.0f} s "
            f"of computing on this server, and {allows}. Fewer steps fit."
        )
        st.session_state[BUDGET] = ("error", text)
        return []
    need, now = cost.cpu_seconds(sum(todo, [])), cost.cpu_seconds(sum(todo[:fit], []))
    rows = (
        f"{depths[0]} hidden layer"
        if fit == 1
        else f"{depths[0]} to {depths[fit - 1]} hidden layers"
    )
    text = (
        f"The missing cells would take about {need:,.0f} s of computing on this server, and "
        f"{allows}: a press trains the rows that fit, this one {rows} (about {now:,.0f} s). "
        "Press Train again for the next rows."
    )
    st.session_state[BUDGET] = ("info", text)
    return list(depths[:fit])


def _stop() -> None:
    st.session_state[STOPPED] = True


def stopped_note() -> None:
    """The note of the last press: a Stop, or the demo budget's (within_budget)."""
    if st.session_state.pop(STOPPED, False):
        st.warning("Stopped: the cells trained before the Stop are stored; the rest are not.")
    if note := st.session_state.pop(BUDGET, None):
        getattr(st, note[0])(note[1])


# ---------------------------------------------------------------- a click


def open_cell(base, ds: Dataset, depth: int, scale: float, where: str) -> None:
    """Open a cell's run with every measurement (landscape.full_config: the cell measured
    its dev loss only): on Zero init (its comparison init; the zero column: the default
    pair) through the page's URL settings, or on Compare runs, where it joins this
    session's runs (trained here first when the store lacks it: one run of the cell's
    steps, the same dev loss to rounding). A gain beyond Zero init's largest opens on Compare."""
    cfg = L.full_config(base, depth, scale)
    if where == "zero init" and L.gain(cfg) <= ZERO_INIT_MAX_GAIN:
        st.switch_page("pages/zero_init.py", query_params=zero_init_params(cfg))
    cell = st.session_state.get(CELLS, {}).get(
        run_key(L.cell_config(base, depth, scale), ds.sha256)
    )
    if cell is None:
        st.info("This cell is not trained yet: train the grid (After N steps), then click it.")
        return
    if cell["status"] != "ok":
        st.info(
            f"This cell's run diverged at step {cell['diverged_at']:,}: a diverged run is not "
            "kept, so there is no run to compare."
        )
        return
    label = f"{tables.short_label(cfg)} ({scale_label(scale)})"
    o = training.lookup([cfg], ds)
    if o is None:
        o = training.train([cfg], ds, [label], "landscape")
        if o[0].status != "ok":
            return
    else:
        training.record_run(o[0], label, "landscape", ds)
    key = run_key(cfg, ds.sha256)
    if CHOSEN in st.session_state and key not in st.session_state[CHOSEN]:
        st.session_state[CHOSEN] = (st.session_state[CHOSEN] + [key])[-20:]
    st.switch_page("pages/compare.py")


def zero_init_params(cfg) -> dict:
    """Zero init's URL settings for a cell's run as its comparison (0: the activation's
    own gain, as the kaiming and zero columns use)."""
    m = cfg.model
    gain = 0.0 if m.init == "zeros" or m.init_gain is None else m.init_gain
    for key in [k for k in st.session_state if str(k).startswith("zi_")]:
        del st.session_state[key]  # the page's widgets take the link's values, not these
    return {
        "activation": m.activation,
        "batchnorm": int(m.batchnorm),
        "layers": m.n_layers,
        "steps": cfg.train.steps,
        "compare_init": "kaiming",
        "compare_gain": repr(gain),
        "seed": cfg.train.seed,
    }
