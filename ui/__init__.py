"""What every page shares: the data set in use, the run store, training with live progress,
the session's run list, URL parameters and the demo-mode caps. Pages stay thin views and
call these as ``ui.<name>``: ``settings`` (demo caps, seed, URL parameters), ``datasets``
(the data in use, uploads, the sidebar), ``training`` (train, lookup, the run list).

Everything a visitor owns (their upload, their runs, their page settings) lives in
``st.session_state``, never at module level: on a hosted server one process serves every
visitor. Only content-addressed things (the default data, the run store) are shared.
"""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

from .datasets import (
    current_dataset,
    data_error,
    default_dataset,
    sidebar,
    take_upload,
    upload_limit,
    use_default,
)
from .settings import (
    DEMO_CAPS,
    DEMO_ENV,
    cap,
    check_caps,
    demo_mode,
    demo_note,
    param,
    seed,
    set_page,
    set_params,
)
from .training import (
    baselines,
    lookup,
    record_run,
    run_store,
    session_runs,
    train,
)

__all__ = [
    "DEMO_CAPS",
    "DEMO_ENV",
    "baselines",
    "cap",
    "check_caps",
    "current_dataset",
    "data_error",
    "default_dataset",
    "demo_mode",
    "demo_note",
    "lookup",
    "param",
    "record_run",
    "run_store",
    "seed",
    "session_runs",
    "set_page",
    "set_params",
    "sidebar",
    "take_upload",
    "train",
    "upload_limit",
    "use_default",
]


def _leave_legacy_pages_mode() -> None:
    """Streamlit 1.67 treats a pages/ folder beside app.py as a legacy (v1) multipage app
    until the first st.navigation call; so a fresh server whose first request is a link to
    a page runs that page file alone (no app.py: no sidebar, no page config) and stays so.
    Every page imports ui: on that first import, turn the legacy mode off and run again,
    through app.py this time (same page, same query string)."""
    if PagesManager.uses_pages_directory and get_script_run_ctx() is not None:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_legacy_pages_mode()
