"""What every page shares: the route to the pages, the data set in use, the run store,
training with live progress, the session's run list, URL parameters, the demo-mode caps,
every chart and the run tables. Pages stay thin views and call these as ``ui.<name>``
(charts as ``ui.charts``, tables as ``ui.tables``, the lecture's diagnostics of a run
as ``ui.diagnostics``): ``navigation`` (route, page_entry),
``settings`` (bounds, demo caps, seed, URL parameters), ``datasets`` (the data in use,
uploads, the sidebar), ``training`` (train, lookup, result_or_button, the run list).

Importing ui runs nothing: app.py calls ``ui.route()``, and every page's first line is
``ui.page_entry()`` (ui/navigation.py says why).

Everything a visitor owns (their upload, their runs, their page settings) lives in
``st.session_state``, never at module level: on a hosted server one process serves every
visitor. Only content-addressed things (the default data, the run store) are shared.
"""

from . import charts, diagnostics, style, tables
from .datasets import (
    current_dataset,
    data_error,
    data_stats,
    default_dataset,
    sidebar,
    take_upload,
    upload_limit,
    use_default,
)
from .navigation import page_entry, route
from .settings import (
    BOUNDS,
    DEMO_CAPS,
    DEMO_ENV,
    bounds,
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
    request_run,
    result_or_button,
    run_store,
    session_runs,
    stopped_note,
    train,
)

__all__ = [
    "BOUNDS",
    "DEMO_CAPS",
    "DEMO_ENV",
    "baselines",
    "bounds",
    "cap",
    "charts",
    "check_caps",
    "current_dataset",
    "data_error",
    "data_stats",
    "default_dataset",
    "demo_mode",
    "demo_note",
    "diagnostics",
    "lookup",
    "page_entry",
    "param",
    "record_run",
    "request_run",
    "result_or_button",
    "route",
    "run_store",
    "seed",
    "session_runs",
    "set_page",
    "set_params",
    "sidebar",
    "stopped_note",
    "style",
    "tables",
    "take_upload",
    "train",
    "upload_limit",
    "use_default",
]
