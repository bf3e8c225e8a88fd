"""A session that survives a reload (F5): the visitor's run list (ui/training.py) is kept on
the server under a private random id (hosting/sessions.py), which the visitor's browser
keeps in a cookie. app.py calls restore() at the top of every run: a session's first run
reads the id from the cookie (st.context.cookies, sent with the page's connection), or
makes one and writes the cookie from the browser (st.html with a script: Streamlit has no
call that sets a cookie), then brings the saved runs back from the run store. The id is
never put in a link: a link carries settings, never someone's runs.

An uploaded word list is not kept: runs trained on one come back in the list, and the
sidebar says that the list itself needs uploading again (upload_note).
"""

from __future__ import annotations

import streamlit as st

from hosting import sessions
from mlp_core.config import RunConfig
from mlp_core.data import DataError

COOKIE = "pb_session"
MAX_AGE_S = 30 * 24 * 3600  # a month
_ID, _GONE = "session_id", "session_uploads_gone"
SET_COOKIE = """<script>
document.cookie = "NAME=VALUE; path=/; max-age=AGE; SameSite=Strict";
</script>"""
KEPT = ("key", "label", "page", "data", "data_sha256", "baselines")  # beside the config


def _root():
    from .run_cache import run_store

    return run_store().root


def session_id() -> str:
    return st.session_state[_ID]


def restore() -> None:
    """The session's id (from the cookie, else a new one written to it) and, on its first
    run, its saved runs back in the run list."""
    if _ID not in st.session_state:
        sid = st.context.cookies.get(COOKIE)
        st.session_state[_ID] = sid if sessions.valid(sid) else sessions.new_id()
        if sessions.valid(sid):
            _bring_back(sessions.load(_root(), sid))
    cookie = SET_COOKIE.replace("NAME", COOKIE).replace("VALUE", session_id())
    st.html(cookie.replace("AGE", str(MAX_AGE_S)), unsafe_allow_javascript=True)


def _bring_back(entries: list[dict]) -> None:
    from .datasets import default_dataset
    from .run_cache import run_store

    try:
        builtin = default_dataset().sha256
    except DataError:  # no built-in names here: every run came from an upload
        builtin = None
    runs = st.session_state.setdefault("runs", {})  # ui/training.py's run list
    for e in entries:
        cfg = RunConfig.from_dict(e["config"])
        o = run_store().get(cfg, e["data_sha256"])
        if o is None or o.status != "ok":
            continue  # no longer in the store: training it again shows it
        runs[e["key"]] = {**{k: e[k] for k in KEPT}, "config": cfg, "metrics": o.metrics}
        if e["data_sha256"] != builtin:
            st.session_state.setdefault(_GONE, {})[e["data_sha256"]] = e["data"]


def save(runs: dict) -> None:
    """Keep the session's run list (ui/training.py's, key -> entry) under its id."""
    from .training import MAX_SESSION_RUNS

    entries = [{**{k: r[k] for k in KEPT}, "config": r["config"].to_dict()} for r in runs.values()]
    sessions.save(_root(), st.session_state.get(_ID, ""), entries, MAX_SESSION_RUNS)


def upload_note(upload) -> None:
    """In the sidebar, under the upload in use (None: none): the uploads that runs came back
    with after a reload, which need uploading again."""
    in_use = upload.sha256 if upload is not None else None
    gone = {s: n for s, n in st.session_state.get(_GONE, {}).items() if s != in_use}
    if not gone:
        return
    st.caption(
        "Your runs came back after the reload, with their losses and curves. A reload does "
        "not keep an uploaded word list: to train on it again, upload it again above."
    )
    for name in gone.values():
        st.text(name)  # the file's name: text, never Markdown
