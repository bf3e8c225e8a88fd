"""The data set in use: the built-in default, or this session's upload (never another's),
and the sidebar that shows and changes it, with the global seed."""

from __future__ import annotations

import math

import streamlit as st

from mlp_core import data

from .settings import DEMO_CAPS, SEED_RANGE, demo_mode, demo_note, param


@st.cache_resource(show_spinner="Loading the built-in names…")
def default_dataset() -> data.Dataset:
    return data.default_dataset()


@st.cache_data(show_spinner=False)
def data_stats(_ds: data.Dataset, sha256: str) -> dict:
    """data.stats of a data set, counted once per data set (keyed by its hash): a page's
    every rerun would otherwise count every bigram of 30,000 words again."""
    return data.stats(_ds)


def current_dataset() -> data.Dataset:
    return st.session_state.get("dataset") or default_dataset()


def upload_limit() -> int:
    """Bytes an upload may have: the core's limit, lower in demo mode."""
    return DEMO_CAPS["upload_bytes"] if demo_mode() else data.MAX_BYTES


def take_upload(name: str, raw: bytes) -> None:
    """Make an uploaded word list this session's data set, or keep the current one and
    leave a message saying why not (shown in the page by data_error)."""
    try:
        if len(raw) > upload_limit():
            raise data.DataError(f"{len(raw):,} bytes; the limit here is {upload_limit():,} bytes")
        st.session_state["dataset"] = data.from_bytes(raw, source=f"upload: {name}")
        st.session_state["dataset_bytes"] = len(raw)
        st.session_state.pop("data_error", None)
    except data.DataError as e:
        st.session_state["data_error"] = (
            f"**{name}** was not loaded — {e}. Still using: {current_dataset().source}"
        )


def use_default() -> None:
    for key in ("dataset", "dataset_bytes", "data_error"):
        st.session_state.pop(key, None)


def _on_upload() -> None:
    up = st.session_state.get("upload")
    if up is None:  # the visitor removed the file: back to the built-in names
        use_default()
    else:
        take_upload(up.name, up.getvalue())


def _caption(ds: data.Dataset) -> str:
    size = st.session_state.get("dataset_bytes") if "dataset" in st.session_state else None
    size = f" · {size:,} bytes" if size else ""
    return (
        f"**In use:** {ds.source}  \n{len(ds.words):,} words{size} · vocab {ds.vocab_size}"
        f"  \nsha256 `{ds.sha256[:16]}`"
    )


def sidebar() -> None:
    """The data set in use and the global seed; called once, by app.py."""
    with st.sidebar:
        st.subheader("Data set")
        st.file_uploader(
            "Upload a word list (.txt, one name per line)",
            # no type=[...]: the browser would refuse other files with an icon only; the
            # server reads every file and take_upload says what is wrong with it
            key="upload",
            on_change=_on_upload,
            max_upload_size=math.ceil(upload_limit() / 1e6),
            help="Stays in your session: it is never put in a link or shown to others.",
        )
        st.caption(_caption(current_dataset()))
        st.subheader("Settings")
        if "seed" not in st.session_state:  # first run of the session: a link may set it
            st.session_state["seed"] = param("seed", 42)
        st.number_input(
            "Seed", *SEED_RANGE, step=1, key="seed", help="Seeds init and minibatch order"
        )
        if demo_mode():
            st.info(demo_note())


def data_error() -> None:
    """Show the last refused upload, in the page."""
    if msg := st.session_state.get("data_error"):
        st.error(msg)
