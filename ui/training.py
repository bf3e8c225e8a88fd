"""Training or showing a page's runs: train (with live progress, ui/training_progress.py),
result_or_button (what every training page calls), the server's warm-up of the pages'
first answers, and this session's run list (what the compare page reads), with the
reference losses the loss charts draw. The results already computed: ui/run_cache.py.
"""

from __future__ import annotations

from typing import NoReturn

import streamlit as st

from hosting import warm
from mlp_core import data
from mlp_core.bn_fold import FOLD_DEFAULT, fold_configs
from mlp_core.config import ConfigError, RunConfig
from mlp_core.store import run_key
from mlp_core.train import RunOutcome
from mlp_core.zero_init import ZERO_INIT_DEFAULT, zero_init_configs

from . import session_memory
from .datasets import default_dataset
from .run_cache import cache_note, lookup, not_stored, remember, run_store
from .settings import check_caps, check_cost
from .training_progress import train_with_progress


def _refuse(error: Exception) -> NoReturn:
    """An expected error (bad config, bad data) ends the page's run with a message, not a
    traceback."""
    st.error(str(error))
    st.stop()


def train(
    cfgs: list[RunConfig], ds: data.Dataset, labels: list[str], page: str
) -> list[RunOutcome]:
    """Train (or fetch) the runs with a progress bar, a live loss chart and a stop button;
    every run lands in this session's run list. A config refused by the core or by the demo
    caps shows an error and stops the page's run."""
    try:
        for c in cfgs:
            check_caps(c)
        todo = not_stored(cfgs, ds)  # stored runs cost nothing
        check_cost(todo, ds)
        outcomes = train_with_progress(cfgs, ds, labels, page, todo)
    except (ConfigError, data.DataError) as e:
        _refuse(e)
    if note := cache_note(outcomes):  # every time: the next visit trains it again
        st.warning(note)
    for c, o, label in zip(cfgs, outcomes, labels):
        if o.status == "ok":
            remember(run_key(c, ds.sha256), o)
            record_run(o, label, page, ds)
    return outcomes


def warm_up() -> None:
    """Once per process (the server's start, ui/server.py; app.py after a page's run where
    no server started it), the pages' default experiments train in the background on the
    built-in names, so a page a visitor opens answers at once (hosting/warm.py; off with
    PRACTICE_BOARD_WARM=0)."""
    try:
        ds = default_dataset()
    except data.DataError:  # no built-in names here: nothing to warm
        return
    warm.warm_up(ds, run_store(), default_experiments())


def default_experiments() -> list[list[RunConfig]]:
    """The configs of each page's first answer, from the questions' own defaults: the
    zero-init page's pair, the fold page's BN run (tests/test_warm.py holds them to the
    pages' first answers)."""
    return [zero_init_configs(ZERO_INIT_DEFAULT), fold_configs(FOLD_DEFAULT)]


def request_run(page: str) -> None:
    """A widget callback: the next result_or_button of page trains at once (a "try this"
    button sets the page's settings and asks for their result)."""
    st.session_state[f"autorun:{page}"] = True


def result_or_button(
    cfgs: list[RunConfig],
    ds: data.Dataset,
    labels: list[str],
    page: str,
    button_label: str | None,
    autorun_first_visit: bool = False,
) -> list[RunOutcome] | None:
    """The runs' outcomes if already computed (this session, the store), else the page's
    last outcomes for these configs (a run that did not finish), else None; above those
    last outcomes, or instead of None, a button that trains them (none if button_label is
    None: show what is computed, never train). The button is there at every run, so the
    page does not jump as settings change: disabled, saying so, while the result shown is
    these settings' own. It trains at once, without a press, after request_run(page), or
    on the page's first visit in the session if autorun_first_visit. Every finished run
    shown lands in this session's run list."""
    keys = [run_key(c, ds.sha256) for c in cfgs]
    autorun = st.session_state.pop(f"autorun:{page}", False)
    first_visit = autorun_first_visit and not st.session_state.get(f"seen:{page}")
    st.session_state[f"seen:{page}"] = True
    outcomes = lookup(cfgs, ds)
    if outcomes is not None and button_label is not None:
        st.button(
            button_label,
            type="primary",
            key=f"run-{page}",
            disabled=True,
            help="Trained already: the result below is these settings' own",
        )
    if outcomes is None:
        last = st.session_state.setdefault("last", {}).get(page)
        outcomes = last[1] if last and last[0] == keys else None
        if button_label is not None:
            pressed = st.button(button_label, type="primary", key=f"run-{page}")
            if pressed or (outcomes is None and (autorun or first_visit)):
                outcomes = train(cfgs, ds, labels, page)
                st.session_state["last"][page] = (keys, outcomes)
    for o, label in zip(outcomes or [], labels):
        if o.status == "ok":
            record_run(o, label, page, ds)
    return outcomes


MAX_SESSION_RUNS = 40  # a session's run list: ~0.6 MB a run (curves, diagnostics) in memory


def record_run(o: RunOutcome, label: str, page: str, ds: data.Dataset) -> None:
    """Add a run to this session's run list (the compare page reads it), with the reference
    losses of its data so any page can draw them. Past MAX_SESSION_RUNS the oldest leave
    the list (they stay in the run store); runs_note says how many."""
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
        "baselines": baselines(ds, ds.sha256, o.config.data.block_size),
    }
    while len(runs) > MAX_SESSION_RUNS:
        del runs[next(iter(runs))]
        st.session_state["runs_left"] = st.session_state.get("runs_left", 0) + 1
    session_memory.save(runs)  # a reload finds the list again


def runs_note() -> str | None:
    """What the run list left out, in words (None: nothing)."""
    if not (n := st.session_state.get("runs_left", 0)):
        return None
    return (
        f"This list keeps your {MAX_SESSION_RUNS} newest runs: the {n:,} oldest left it. They "
        "are still stored: training the same settings again shows them at once."
    )


def session_runs() -> list[dict]:
    return list(st.session_state.get("runs", {}).values())


@st.cache_data(show_spinner=False)
def baselines(_ds: data.Dataset, sha256: str, block_size: int) -> dict[str, float]:
    return data.baselines(_ds, block_size)
