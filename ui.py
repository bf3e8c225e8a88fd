"""What every page shares: the data set in use, the run store, training with live progress,
the session's run list, URL parameters and the demo-mode caps. Pages stay thin views."""

from __future__ import annotations

import os
import time

import altair as alt
import pandas as pd
import streamlit as st

from mlp_core import data
from mlp_core.config import RunConfig
from mlp_core.runs import RunStore, get_or_train, run_key
from mlp_core.train import Progress, RunOutcome

DEMO_ENV = "PRACTICE_BOARD_DEMO"  # "1" turns on the hosted-demo caps
DEMO_CAPS = {"steps": 5_000, "n_hidden": 200, "n_layers": 6, "upload_bytes": 1_000_000}
MAX_REMEMBERED = 30  # results kept in a session when the cache cannot be written


def demo_mode() -> bool:
    if os.environ.get(DEMO_ENV, "").lower() in ("1", "true", "yes"):
        return True
    try:
        return bool(st.secrets.get("demo_mode", False))
    except Exception:  # no secrets file: not a demo
        return False


@st.cache_resource
def run_store() -> RunStore:
    return RunStore()


@st.cache_resource(show_spinner="Loading the built-in names…")
def default_dataset() -> data.Dataset:
    return data.default_dataset()


def current_dataset() -> data.Dataset:
    return st.session_state.get("dataset") or default_dataset()


# ---------------------------------------------------------------- sidebar: data and seed


def _take_upload() -> None:
    up = st.session_state.get("upload")
    if up is None:
        return
    cap = DEMO_CAPS["upload_bytes"] if demo_mode() else data.MAX_BYTES
    try:
        raw = up.getvalue()
        if len(raw) > cap:
            raise data.DataError(f"{len(raw):,} bytes; the limit here is {cap:,} bytes")
        st.session_state["dataset"] = data.from_bytes(raw, source=f"upload: {up.name}")
        st.session_state.pop("data_error", None)
    except data.DataError as e:
        st.session_state["data_error"] = f"{up.name} was not loaded — {e}. Still using: " + (
            current_dataset().source
        )


def _use_default() -> None:
    st.session_state.pop("dataset", None)
    st.session_state.pop("data_error", None)


def sidebar() -> None:
    """The data set in use and the global seed; called once, by app.py."""
    with st.sidebar:
        st.subheader("Data set")
        st.file_uploader(
            "Upload a word list (.txt, one name per line)",
            type=["txt"],
            key="upload",
            on_change=_take_upload,
        )
        ds = current_dataset()
        st.caption(
            f"**In use:** {ds.source}  \n{len(ds.words):,} words · vocab {ds.vocab_size}"
            f" · sha256 `{ds.sha256[:12]}`"
        )
        if "dataset" in st.session_state:
            st.button("Use the built-in names", on_click=_use_default)
        st.subheader("Settings")
        st.number_input(
            "Seed",
            min_value=0,
            max_value=2**31 - 1,
            step=1,
            key="seed",
            value=int(st.query_params.get("seed", 42)) if "seed" not in st.session_state else None,
            help="Seeds init and minibatch order",
        )
        if demo_mode():
            st.info(
                f"Demo mode: at most {DEMO_CAPS['steps']:,} steps, {DEMO_CAPS['n_layers']} "
                f"layers of {DEMO_CAPS['n_hidden']}, uploads up to "
                f"{DEMO_CAPS['upload_bytes'] // 1000:,} kB."
            )


def data_error() -> None:
    """Show the last refused upload, in the page."""
    if msg := st.session_state.get("data_error"):
        st.error(msg)


def seed() -> int:
    return int(st.session_state.get("seed") or 42)


# ---------------------------------------------------------------- URL parameters


def param(name: str, default, cast=None):
    """An experiment setting from the URL, falling back to default on absence or junk."""
    raw = st.query_params.get(name)
    if raw is None:
        return default
    cast = cast or type(default)
    try:
        return raw.lower() in ("1", "true", "yes") if cast is bool else cast(raw)
    except (TypeError, ValueError):
        return default


def set_params(values: dict) -> None:
    """Write the page's configuration into the URL (never any data)."""
    clean = {k: (int(v) if isinstance(v, bool) else v) for k, v in values.items()}
    clean["seed"] = seed()
    if {k: str(v) for k, v in clean.items()} != st.query_params.to_dict():
        st.query_params.from_dict(clean)


def cap(name: str, high: int) -> int:
    """The upper bound of a setting, lowered in demo mode."""
    return min(high, DEMO_CAPS[name]) if demo_mode() and name in DEMO_CAPS else high


# ---------------------------------------------------------------- training and results


def _remember(key: str, outcome: RunOutcome) -> None:
    mem = st.session_state.setdefault("results", {})
    mem[key] = outcome
    while len(mem) > MAX_REMEMBERED:
        mem.pop(next(iter(mem)))


def lookup(cfgs: list[RunConfig], ds: data.Dataset) -> list[RunOutcome] | None:
    """The runs' results if all are already computed (store or this session), else None."""
    mem = st.session_state.get("results", {})
    out = []
    for c in cfgs:
        hit = mem.get(run_key(c, ds.sha256)) or run_store().get(c, ds.sha256)
        if hit is None:
            return None
        out.append(hit)
    return out


def _curve_chart(curve: dict, labels: list[str]) -> alt.Chart:
    rows = [
        {"step": s, "run": labels[k], "loss": v}
        for s, vals in zip(curve["step"], curve["train"])
        for k, v in enumerate(vals)
    ]
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_line()
        .encode(x="step:Q", y=alt.Y("loss:Q", scale=alt.Scale(zero=False)), color="run:N")
        .properties(height=220)
    )


def train(
    cfgs: list[RunConfig], ds: data.Dataset, labels: list[str], page: str
) -> list[RunOutcome]:
    """Train (or fetch) the runs with a progress bar, a live loss chart and a stop button;
    every run lands in this session's run list."""
    st.button("Stop", key=f"stop-{page}", help="Stops the training; nothing is stored")
    bar, chart = st.progress(0.0, text="Starting…"), st.empty()
    last = {"t": 0.0}

    def on_progress(p: Progress) -> None:
        bar.progress(p.step / p.steps, text=f"Step {p.step:,} of {p.steps:,} · {p.seconds:.1f} s")
        if time.monotonic() - last["t"] > 0.4 and p.curve["step"]:
            chart.altair_chart(_curve_chart(p.curve, labels), use_container_width=True)
            last["t"] = time.monotonic()

    def on_wait() -> None:
        bar.progress(0.0, text="Another training is running on this server; yours is queued…")

    outcomes = get_or_train(cfgs, ds, run_store(), on_progress, on_wait)
    bar.empty()
    chart.empty()
    if run_store().error and not st.session_state.get("cache_warned"):
        st.warning(run_store().error + " — the app works on, without a cache.")
        st.session_state["cache_warned"] = True
    for c, o, label in zip(cfgs, outcomes, labels):
        if o.status == "ok":
            _remember(run_key(c, ds.sha256), o)
            record_run(o, label, page, ds)
    return outcomes


def record_run(o: RunOutcome, label: str, page: str, ds: data.Dataset) -> None:
    """Add a run to this session's run list (the compare page reads it)."""
    runs = st.session_state.setdefault("runs", {})
    key = run_key(o.config, ds.sha256)
    runs[key] = {
        "key": key,
        "label": label,
        "page": page,
        "config": o.config,
        "data": ds.source,
        "data_sha256": ds.sha256,
        "metrics": o.metrics,
    }


def session_runs() -> list[dict]:
    return list(st.session_state.get("runs", {}).values())


def baseline_rules(baselines: dict[str, float]) -> alt.Chart:
    """Horizontal reference lines (uniform, unigram, bigram) for loss charts."""
    df = pd.DataFrame([{"baseline": k, "loss": v} for k, v in baselines.items()])
    return (
        alt.Chart(df)
        .mark_rule(strokeDash=[4, 4])
        .encode(
            y="loss:Q",
            color=alt.Color("baseline:N", scale=alt.Scale(scheme="greys")),
            tooltip=["baseline", alt.Tooltip("loss:Q", format=".4f")],
        )
    )


@st.cache_data(show_spinner=False)
def baselines(_ds: data.Dataset, sha256: str, block_size: int) -> dict[str, float]:
    return data.baselines(_ds, block_size)
