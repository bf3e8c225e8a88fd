"""The init landscape's Streamlit side (pages/landscape.py; its heatmaps:
landscape_charts.py): the cells known so far, the sweep with live filling and Stop, and
a click's way to Zero init or Compare.

Cells trained here go through the core's runs.get_or_train like any run (hosted, with
the app's scheduler: fair turns, reservations); they are remembered in this session as cell
dicts (run key -> landscape.trained_cell), not in the session's run list, which would
fill Compare with 72 runs: a cell joins that list when a click opens it on Compare. A
diverged cell, which the store never keeps, is known to this session only."""

from __future__ import annotations

import streamlit as st

from hosting import cost
from hosting.schedule import SCHEDULER
from hosting.turns import Place
from mlp_core import landscape as L
from mlp_core.data import Dataset, baselines
from mlp_core.run_text import plural
from mlp_core.store import run_key

from . import settings, tables, training
from .landscape_charts import scale_label
from .run_cache import lookup, run_store
from .settings import BOUNDS, check_caps
from .training_progress import visitor
from .waiting import Bar

CELLS = "ls_cells"  # session key: run key -> trained cell
STOPPED = "ls_stopped"  # session key: the sweep a visitor stopped, for the note after it
BUDGET = "ls_budget"  # session key: the demo budget's note on the last press (kind, text)
CHOSEN = "cmp_chosen"  # ui/compare.py's picked runs (a cell opened there joins them)
ZERO_INIT_MAX_GAIN = BOUNDS["compare_gain"][1]  # Zero init's largest comparison gain
# ---------------------------------------------------------------- cells and the sweep


def known_cells(base, ds: Dataset, depths) -> dict:
    """(depth, scale) -> trained cell, from this session or the store, else a pending one."""
    mem = st.session_state.setdefault(CELLS, {})
    store, rungs, out = run_store(), baselines(ds, base.data.block_size), {}
    for depth in depths:
        for scale, cfg in zip(L.SCALES, L.depth_configs(base, depth)):
            key = run_key(cfg, ds.sha256)
            if key not in mem and (o := store.get(cfg, ds.sha256)) is not None:
                mem[key] = L.trained_cell(depth, scale, o, ds, rungs)
            out[depth, scale] = mem.get(key) or L.cell_head(depth, scale, cfg) | {"pending": True}
    return out


def missing(base, ds: Dataset, depths) -> dict[int, tuple]:
    """depth -> the scales of its cells this session does not know (from the store or
    trained here): the ones a press trains. Depths with none are left out."""
    mem = st.session_state.get(CELLS, {})
    out = {}
    for depth in depths:
        cfgs = L.depth_configs(base, depth)
        scales = tuple(s for s, c in zip(L.SCALES, cfgs) if run_key(c, ds.sha256) not in mem)
        if scales:
            out[depth] = scales
    return out


def missing_label(todo: dict[int, tuple]) -> str:
    """ "N missing cells (S stacks of K runs)", the stacks' true sizes (missing())."""
    sizes = [len(s) for s in todo.values()]
    if len(set(sizes)) == 1:
        stacks = f"{plural(len(sizes), 'stack')} of {plural(sizes[0], 'run')}"
    else:
        runs = ", ".join(str(k) for k in sizes[:-1]) + f" and {sizes[-1]}"
        stacks = f"{plural(len(sizes), 'stack')}: {runs} runs"
    return f"{plural(sum(sizes), 'missing cell')} ({stacks})"


def sweep(base, ds: Dataset, depths, draw) -> None:
    """Train the depths' missing cells (missing()), one stack per depth, drawing the grid
    again as each stack is done (draw(cells)); a progress bar and one Stop button
    meanwhile. A diverged cell, which the store never keeps, is not trained again while
    this session knows it."""
    for depth in depths:
        for cfg in L.depth_configs(base, depth):
            check_caps(cfg)
    depths = within_budget(base, ds, depths)
    if not depths:
        return
    stop = st.empty()
    stop.button("Stop", key="stop-landscape", on_click=_stop, help="Cells already done stay")
    bar = Bar(st.empty())
    bar.progress(0.0, text="Starting…")
    order = {d: i for i, d in enumerate(depths)}

    def on_progress(depth: int, p) -> None:
        done = (order[depth] + p.step / p.steps) / len(depths)
        row = f"{plural(depth, 'hidden layer')} ({order[depth] + 1} of {len(depths)})"
        bar.progress(done, text=f"{row}: step {p.step:,} of {p.steps:,} · {p.seconds:.1f} s")

    def on_wait(place: Place) -> None:
        bar.wait(place)

    mem = st.session_state.setdefault(CELLS, {})
    schedule = {"scheduler": SCHEDULER, "on_wait": on_wait, "visitor": visitor()}
    todo = missing(base, ds, depths)
    for depth in [d for d in depths if d in todo]:
        rows = L.sweep(base, ds, run_store(), (depth,), todo[depth], on_progress, **schedule)
        row = [c for r in rows for c in r]
        mem.update({c["key"]: c for c in row if c["status"] != "stopped"})  # diverged: kept here
        draw()
        if any(c["status"] == "stopped" for c in row):
            break
    stop.empty()
    bar.slot.empty()


def within_budget(base, ds: Dataset, depths) -> list:
    """In demo mode, the depths (shallowest first) whose missing cells fit the demo's
    budget per submission together (hosting/cost.py's estimate, as every form's); the
    rest wait for the next press, and the note after the press says so with the estimates.
    None fitting: nothing trains, and the note says why."""
    if not settings.demo_mode():
        return list(depths)
    scales = missing(base, ds, depths)
    todo = [L.depth_configs(base, d, scales.get(d, ())) for d in depths]
    budget, sizes = settings.DEMO_BUDGET_S, cost.data_sizes(ds)
    fit = cost.fitting(todo, budget, sizes)
    if fit == len(depths):
        return list(depths)
    allows = f"the demo allows {budget} s of computing per submission"
    if fit == 0:
        need = cost.cpu_seconds(todo[0], sizes)
        text = (
            f"Not trained: the stack of {plural(depths[0], 'hidden layer')} would take about "
            f"{need:,.0f} s of computing on this server, and {allows}. Fewer steps fit."
        )
        st.session_state[BUDGET] = ("error", text)
        return []
    need = cost.cpu_seconds(sum(todo, []), sizes)
    now = cost.cpu_seconds(sum(todo[:fit], []), sizes)
    rows = (
        plural(depths[0], "hidden layer")
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
        st.warning(
            "Stopped: the rows finished before the Stop are kept (stored, and a diverged "
            "cell, which the store never keeps, in this session); the stopped row's cells "
            "are not."
        )
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
    o = lookup([cfg], ds)
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
