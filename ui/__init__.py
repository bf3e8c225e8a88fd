"""What every page shares: the route to the pages, the data set in use, the run store,
training with live progress, the session's run list, URL parameters, the demo-mode caps,
every chart and the run tables. Pages stay thin views and call these as ``ui.<name>``
(charts as ``ui.charts``, a data set's as ``ui.data_charts``, tables as ``ui.tables``, the
lecture's diagnostics of a run as ``ui.diagnostics``): ``navigation`` (route, page_entry),
``settings`` (bounds, demo caps, seed, URL parameters), ``datasets`` (the data in use,
uploads, the sidebar), ``training`` (train, result_or_button, the run list),
``run_cache`` (lookup, the run store), ``training_progress`` (the note after a Stop).

Importing ui runs nothing and loads nothing heavy (each name's submodule is imported at
its first use): app.py calls ``ui.route()``, and every page's first line is
``ui.page_entry()`` (ui/navigation.py says why).

Everything a visitor owns (their upload, their runs, their page settings) lives in
``st.session_state``, never at module level: on a hosted server one process serves every
visitor. Only content-addressed things (the default data, the run store) are shared.
"""

from importlib import import_module

# name -> the submodule that defines it; a submodule is imported the first time a name of
# it is used, so `import ui` (and ui.navigation, ui.style, ui.settings) costs no torch,
# pandas or altair import and app.py can draw the page's title before they load
# (ARCHITECTURE.md "The first render")
_HOME = {
    "charts": None,
    "data_charts": None,
    "diagnostics": None,
    "presets": None,
    "server": None,
    "session_memory": None,
    "style": None,
    "tables": None,
    "datasets": None,
    "navigation": None,
    "settings": None,
    "training": None,
    "zero_init_report": None,
    **dict.fromkeys(
        [
            "current_dataset",
            "cut",
            "data_error",
            "data_stats",
            "default_dataset",
            "sidebar",
            "take_upload",
            "upload_limit",
            "use_default",
        ],
        "datasets",
    ),
    **dict.fromkeys(["heading", "page_entry", "route"], "navigation"),
    **dict.fromkeys(
        [
            "BOUNDS",
            "DEMO_CAPS",
            "DEMO_ENV",
            "bounds",
            "cap",
            "check_caps",
            "demo_mode",
            "demo_note",
            "param",
            "link_note",
            "note_dropped",
            "seed",
            "set_page",
            "set_params",
        ],
        "settings",
    ),
    **dict.fromkeys(
        [
            "baselines",
            "record_run",
            "request_run",
            "result_or_button",
            "runs_note",
            "session_runs",
            "train",
            "warm_up",
        ],
        "training",
    ),
    **dict.fromkeys(["HASH_FUNCS", "cache_note", "lookup", "run_store"], "run_cache"),
    "stopped_note": "training_progress",
}
__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'ui' has no attribute {name!r}")
    home = _HOME[name]
    module = import_module(f".{home or name}", __name__)
    value = module if home is None else getattr(module, name)
    globals()[name] = value  # the next use is a plain attribute
    return value


def __dir__() -> list[str]:
    return __all__
