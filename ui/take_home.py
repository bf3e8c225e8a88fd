"""Take it home: the pages' "Download as a notebook" buttons (mlp_core/export.py).

The notebook reproduces the app's run of the page's settings in the notebook arithmetic,
so those runs must exist: where they are computed (the store, this session) the button is
there at once; otherwise a "Prepare" button trains them first (progress, Stop and turns
as every training). The zip itself is built only when the button is clicked (Streamlit
calls ``data`` then, off the page's run), so a page never waits for it.

A run that did not finish (diverged) is stored nowhere, so what Prepare trained is kept in
this session (PREPARED) for the reruns that follow.
"""

from __future__ import annotations

import streamlit as st

from mlp_core import data, export
from mlp_core.config import RunConfig
from mlp_core.store import run_key
from mlp_core.train import RunOutcome

from . import training
from .datasets import current_dataset, default_dataset
from .run_cache import lookup

PREPARED = "take_home"  # session key: {run keys: outcomes} that Prepare trained
WHAT = {
    "run": "trains this run again",
    "zero-init": "trains both nets again, with the gradient table and the lecture's histograms",
    "fold": "trains the BatchNorm net again, folds it by hand and proves the same outputs",
}


def _outcomes(cfgs: list[RunConfig], ds: data.Dataset) -> list[RunOutcome] | None:
    keys = tuple(run_key(c, ds.sha256) for c in cfgs)
    return lookup(cfgs, ds) or st.session_state.get(PREPARED, {}).get(keys)


def _prepare(cfgs, ds, page: str, key: str) -> list[RunOutcome] | None:
    """A button that trains the notebook-arithmetic runs; their outcomes once trained (the
    button and its note then go)."""
    slot = st.empty()
    with slot.container():
        st.caption(
            "The notebook reproduces the app's runs of these settings in the notebook "
            "arithmetic (the lecture's loop: x @ W + b, autograd), not computed yet. Prepare "
            "trains them (slower than the engine), then the download is here."
        )
        pressed = st.button("Prepare the notebook", key=f"nb-prepare-{key}")
    if not pressed:
        return None
    slot.empty()
    labels = [f"{c.model.init} · notebook arithmetic" for c in cfgs]
    outcomes = training.train(cfgs, ds, labels, page)
    keys = tuple(run_key(c, ds.sha256) for c in cfgs)
    st.session_state.setdefault(PREPARED, {})[keys] = outcomes
    return outcomes


def notebook(
    kind: str,
    cfg: RunConfig,
    ds: data.Dataset,
    page: str,
    compare: dict | None = None,
    heading: bool = True,
) -> None:
    """The page's notebook download under its own heading: kind "run", "zero-init"
    (compare: the comparison's init, gain, scale) or "fold"."""
    if heading:
        st.subheader("Take it home: a notebook")
    try:
        cfgs = export.export_configs(kind, cfg, compare)
    except export.ExportError as e:
        st.caption(f"No notebook for this run: {e}.")
        return
    key = f"{kind}-{run_key(cfgs[0], ds.sha256)[:16]}"
    outcomes = _outcomes(cfgs, ds) or _prepare(cfgs, ds, page, key)
    if outcomes is None:
        return
    if any(o.status != "ok" for o in outcomes) and kind == "fold":
        st.caption("No notebook: the BatchNorm run did not finish in the notebook arithmetic.")
        return
    if any(o.status not in ("ok", "diverged") for o in outcomes):
        return  # stopped: ui.training_progress's note says so
    st.download_button(
        "Download as a notebook (.zip)",
        data=lambda: export.build_zip(kind, outcomes, ds),
        file_name=f"{export.folder(kind, outcomes, ds)}.zip",
        mime="application/zip",
        key=f"nb-{key}",
        on_click="ignore",
        icon=":material/download:",
    )
    st.caption(
        f"A Jupyter notebook in the lecture's style that {WHAT[kind]}, printing the app's "
        "numbers (its notebook arithmetic, to the last bit on the same machine), zipped with "
        "the word list it reads. It needs torch and matplotlib."
    )


def _dataset_of(sha256: str) -> data.Dataset | None:
    """The word list a run trained on, if this session still has it."""
    try:
        found = [current_dataset(), default_dataset()]
    except data.DataError:  # no built-in names here
        found = [current_dataset()]
    return next((ds for ds in found if ds.sha256 == sha256), None)


def any_run(runs: list[dict], shown: list[str], page: str) -> None:
    """Compare's download: a notebook of any one of the runs shown."""
    st.subheader("Take it home: a notebook")
    name = st.selectbox("Notebook of", shown, index=len(shown) - 1, key="nb_run")
    run = runs[shown.index(name)]
    ds = _dataset_of(run["data_sha256"])
    if ds is None:
        st.caption(
            "This run's word list is not the one in use now (the session keeps the word list "
            "in use and the built-in names, not earlier uploads): upload it again to take the "
            "run home."
        )
        return
    notebook("run", run["config"], ds, page, heading=False)
