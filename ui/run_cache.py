"""The results already computed: the run store, this session's results, a lookup over
both, and the note when a result could not be cached.

Between a widget and a number sit these caches, each for a reason:
- the core's run store (``mlp_core.store``, on disk, content-addressed, shared by every
  session): the truth, so a configuration computed once shows at once for anyone;
- this session's ``results`` (run key -> outcome, at most MAX_REMEMBERED): a rerun needs
  no disk read, and results survive where the store cannot be written;
- each page's last shown outcomes (``last``, ui/training.py): a run that did not finish
  (diverged, stopped) is stored nowhere else, and a widget's rerun must not lose it;
- ``st.cache_data`` on what a page derives from a run or a data set that costs a pass over
  the data (the run list's baselines in ui/training.py, data statistics, the fold report),
  keyed by content hashes.
"""

from __future__ import annotations

import json

import streamlit as st

from mlp_core import data
from mlp_core.config import RunConfig
from mlp_core.store import RunStore, run_key
from mlp_core.train import RunOutcome

MAX_REMEMBERED = 30  # results kept in a session when the cache cannot be written


@st.cache_resource
def run_store() -> RunStore:
    return RunStore()


def outcome_hash(o: RunOutcome) -> str:
    """A run's identity for st.cache_data (hash_funcs): its config and how it ended; with
    the data set's content hash beside it, a stored run's content hash."""
    return json.dumps(o.config.to_dict(), sort_keys=True) + o.status


HASH_FUNCS = {RunOutcome: outcome_hash, data.Dataset: lambda ds: ds.sha256}


def remember(key: str, outcome: RunOutcome) -> None:
    mem = st.session_state.setdefault("results", {})
    mem[key] = outcome
    while len(mem) > MAX_REMEMBERED:
        mem.pop(next(iter(mem)))


def not_stored(cfgs: list[RunConfig], ds: data.Dataset) -> list[RunConfig]:
    """The configs whose runs are not computed yet (lookup): the ones a press trains."""
    return [c for c in cfgs if lookup([c], ds) is None]


def lookup(cfgs: list[RunConfig], ds: data.Dataset) -> list[RunOutcome] | None:
    """The runs' results if all are already computed (store or this session), else None."""
    mem = st.session_state.get("results", {})
    out = []
    for c in cfgs:
        key = run_key(c, ds.sha256)
        hit = mem.get(key)
        if hit is None:
            hit = run_store().get(c, ds.sha256)
            if hit is None:
                return None
            remember(key, hit)  # the next rerun needs no disk read
        out.append(hit)
    return out


def cache_note(outcomes: list[RunOutcome]) -> str | None:
    """One line when a result could not be cached (a full disk, a read-only store)."""
    note = next((o.cache_note for o in outcomes if o.cache_note), None)
    return f"Shown, but {note}: it is trained again next time." if note else None
